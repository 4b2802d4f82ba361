{
  "targets": [
    {
      "target_name": "spotfusion_gvsp",
      "sources": ["native/gvsp_rx.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/gvsp_rx.c"]}]]
    }
  ]
}
