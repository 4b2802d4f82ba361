/*
 * spotfusion_gvsp: the GVSP stream socket's receive side, batched (Linux).
 *
 * Node's dgram hands JavaScript one 'message' event, one Buffer and one recvmsg(2) per datagram. A GigE Vision
 * camera sends 190 datagrams per 512x512 frame at 1500-byte packets and ~3,000 per 2048x2048 frame, so that path
 * costs the receiving thread several microseconds a packet. Here one UDP socket is watched by the event loop of
 * the thread that opened it (uv_poll, level-triggered); when it is readable, recvmmsg(2) moves up to `slots`
 * datagrams per system call into one caller-owned buffer (slot i at i * slotSize) and their lengths into an
 * Int32Array, and the JavaScript callback runs once per batch: onBatch(count) or onBatch(-1, message) on a socket
 * error. A datagram longer than its slot gets length -1 (the assembler counts it as a bad packet).
 * Waking the thread costs more than receiving a packet: a receiver that keeps up would wake for every two or three
 * packets of a burst. So after a batch that emptied the socket, the socket is left alone for `coalesceMs` (a uv
 * timer), and the next wake finds a burst's worth queued: frames complete up to that much later, the kernel's receive
 * buffer (sized from the frame) holds what arrives meanwhile. coalesceMs 0 turns this off.
 *
 * Packet ring (ringBytes > 0): where the process may open a packet socket (CAP_NET_RAW, e.g. root or systemd's
 * AmbientCapabilities), the stream's packets are taken from an AF_PACKET TPACKET_V3 receive ring instead, as aravis
 * does: the kernel writes each packet into memory shared with us in its receive path, a classic BPF filter keeps
 * only UDP to our address and port (unfragmented), and a block of packets is handed over when full or after
 * coalesceMs; no system call per packet or per batch. The UDP socket stays bound (the port is ours, no ICMP port
 * unreachable goes back) with a filter that drops everything, so the packets are not also queued there. Without
 * the capability (EPERM) or the address's interface, it falls back to recvmmsg and says why (ringError).
 *
 * exports: open(address, recvBufferBytes, buffer, slotSize, lengths, onBatch[, coalesceMs[, ringBytes]])
 *            -> { handle, port, recvBufferBytes, mode: 'ring' | 'recvmmsg', ringError? }
 *               (recvBufferBytes as getsockopt(SO_RCVBUF) reports it; with the ring: the ring's size)
 *          close(handle)                              (idempotent; the fd is closed once the poll handle is)
 * A thread that ends without close() (a worker terminated) closes its sockets through an async cleanup hook.
 * The protocol itself (packet ids, blocks, resends) stays in JavaScript: nodes/lib/camera/gige/gvsp.ts.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
/*
 * One block of the packet ring: a power of two, a multiple of the page size, room for ~180 packets of 1400 bytes.
 * The kernel hands a block over when it is full or coalesceMs after it opened, even with one packet in it; while
 * the reader is busy (a GC pause, a loaded CPU) every block may be taken in RING_MIN_BLOCKS * coalesceMs. So the
 * ring has at least RING_MIN_BLOCKS blocks (64 ms at 2 ms) and more when the frames ask for more bytes.
 */
#define RING_BLOCK (1u << 18)
#define RING_MIN_BLOCKS 32u
#define RING_MAX_BLOCKS 1024u

/* batches handled per readable event before the event loop gets its turn back (it calls again while readable) */
#define MAX_BATCHES_PER_WAKE 8

struct box;

typedef struct rx {
  napi_env env;
  /* the JavaScript handle's box (NULL once that handle was garbage-collected) */
  struct box *box;
  int fd;
  /* the packet socket and its ring (ring == NULL: recvmmsg on fd) */
  int ring_fd;
  uint8_t *ring;
  size_t ring_size;
  unsigned int ring_blocks;
  unsigned int ring_next;
  int closing;
  uv_poll_t poll;
  uv_timer_t timer;
  /* handles still to be closed before the state may be freed */
  int open_handles;
  unsigned int coalesce_ms;
  napi_ref on_batch;
  napi_ref buffer_ref;
  napi_ref lengths_ref;
  napi_async_context async_ctx;
  napi_async_cleanup_hook_handle hook;
  uint8_t *buffer;
  size_t slot_size;
  int32_t *lengths;
  unsigned int slots;
  struct mmsghdr *msgs;
  struct iovec *iov;
} rx_t;

/* what the JavaScript handle points at: outlives the socket, so a close() after the socket is gone is harmless */
typedef struct box {
  rx_t *rx;
} box_t;

#define CHECK(env, call)                                                                                               \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      throw_last(env, #call);                                                                                          \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

static void throw_last(napi_env env, const char *what) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  char msg[256];
  snprintf(msg, sizeof msg, "spotfusion_gvsp: %s failed: %s", what, info && info->error_message ? info->error_message : "napi error");
  napi_throw_error(env, "ERR_GVSP_NATIVE", msg);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (errno %d)", what, strerror(err), err);
  napi_throw_error(env, "ERR_GVSP_SOCKET", msg);
  return NULL;
}

static void free_rx(rx_t *rx) {
  free(rx->msgs);
  free(rx->iov);
  free(rx);
}

/* a handle is closed; after the last: close the socket, drop the references to the JavaScript objects, free */
static void on_closed(uv_handle_t *handle) {
  rx_t *rx = (rx_t *)handle->data;
  if (--rx->open_handles > 0) return;
  if (rx->ring != NULL) munmap(rx->ring, rx->ring_size);
  rx->ring = NULL;
  if (rx->ring_fd >= 0) close(rx->ring_fd);
  rx->ring_fd = -1;
  if (rx->fd >= 0) close(rx->fd);
  rx->fd = -1;
  if (rx->box != NULL) rx->box->rx = NULL;
  if (rx->hook != NULL) {
    napi_remove_async_cleanup_hook(rx->hook);
    rx->hook = NULL;
  }
  napi_delete_reference(rx->env, rx->on_batch);
  napi_delete_reference(rx->env, rx->buffer_ref);
  napi_delete_reference(rx->env, rx->lengths_ref);
  napi_async_destroy(rx->env, rx->async_ctx);
  free_rx(rx);
}

static void begin_close(rx_t *rx) {
  if (rx->closing) return;
  rx->closing = 1;
  uv_poll_stop(&rx->poll);
  uv_timer_stop(&rx->timer);
  uv_close((uv_handle_t *)&rx->poll, on_closed);
  uv_close((uv_handle_t *)&rx->timer, on_closed);
}

/* the thread ends (a worker terminated) with the socket still open */
static void on_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  rx_t *rx = (rx_t *)arg;
  (void)handle;
  begin_close(rx);
}

/* call onBatch(count[, message]) in a callback scope (microtasks run after it, as after any I/O callback) */
static int call_js(rx_t *rx, int count, const char *message) {
  napi_env env = rx->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return -1;
  int ok = 0;
  napi_value fn, recv, argv[2], result;
  size_t argc = message ? 2 : 1;
  if (napi_get_reference_value(env, rx->on_batch, &fn) == napi_ok && napi_get_global(env, &recv) == napi_ok &&
      napi_create_int32(env, count, &argv[0]) == napi_ok &&
      (!message || napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[1]) == napi_ok)) {
    napi_status st = napi_make_callback(env, rx->async_ctx, recv, fn, argc, argv, &result);
    if (st == napi_pending_exception) {
      /* the callback threw: it becomes the thread's uncaught exception ('error' on the Worker) */
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
      ok = -1;
    } else if (st != napi_ok) {
      ok = -1;
    }
  } else {
    ok = -1;
  }
  napi_close_handle_scope(env, scope);
  return ok;
}

static void on_readable(uv_poll_t *handle, int status, int events);

/* the coalescing pause is over: watch the socket again (level-triggered: at once if packets are queued) */
static void on_pause_end(uv_timer_t *timer) {
  rx_t *rx = (rx_t *)timer->data;
  if (rx->closing) return;
  int st = uv_poll_start(&rx->poll, UV_READABLE, on_readable);
  if (st != 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "stream socket poll: %s", uv_strerror(st));
    call_js(rx, -1, msg);
  }
}

/* the socket is empty: leave it alone for coalesce_ms */
static void pause_socket(rx_t *rx) {
  if (rx->coalesce_ms == 0 || rx->closing) return;
  uv_poll_stop(&rx->poll);
  uv_timer_start(&rx->timer, on_pause_end, rx->coalesce_ms, 0);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  rx_t *rx = (rx_t *)handle->data;
  (void)events;
  if (rx->closing) return;
  if (status < 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "stream socket poll: %s", uv_strerror(status));
    call_js(rx, -1, msg);
    return;
  }
  for (int batch = 0; batch < MAX_BATCHES_PER_WAKE && !rx->closing; batch++) {
    for (unsigned int i = 0; i < rx->slots; i++) {
      rx->msgs[i].msg_hdr.msg_flags = 0;
      rx->msgs[i].msg_len = 0;
    }
    int n = recvmmsg(rx->fd, rx->msgs, rx->slots, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return pause_socket(rx);
      char msg[160];
      snprintf(msg, sizeof msg, "stream socket recvmmsg: %s (errno %d)", strerror(errno), errno);
      call_js(rx, -1, msg);
      return;
    }
    if (n == 0) return pause_socket(rx);
    for (int i = 0; i < n; i++) {
      rx->lengths[i] = (rx->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)rx->msgs[i].msg_len;
    }
    if (call_js(rx, n, NULL) != 0) return;
    if ((unsigned int)n < rx->slots) return pause_socket(rx);
  }
}

/* the ring's blocks the kernel handed over, in order: each packet's UDP payload into the next slot, one call per
   full batch and one for the rest; each block goes back to the kernel once read */
static void on_ring(uv_poll_t *handle, int status, int events) {
  rx_t *rx = (rx_t *)handle->data;
  (void)events;
  if (rx->closing) return;
  if (status < 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "stream packet ring poll: %s", uv_strerror(status));
    call_js(rx, -1, msg);
    return;
  }
  unsigned int n = 0;
  for (unsigned int b = 0; b < rx->ring_blocks && !rx->closing; b++) {
    struct tpacket_block_desc *block = (struct tpacket_block_desc *)(rx->ring + (size_t)rx->ring_next * RING_BLOCK);
    if ((__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
    uint32_t count = block->hdr.bh1.num_pkts;
    uint8_t *p = (uint8_t *)block + block->hdr.bh1.offset_to_first_pkt;
    for (uint32_t k = 0; k < count && !rx->closing; k++) {
      struct tpacket3_hdr *h = (struct tpacket3_hdr *)p;
      const uint8_t *ip = p + h->tp_net;
      uint32_t caplen = h->tp_snaplen;
      int32_t len = -1;
      if (caplen >= 28 && (ip[0] >> 4) == 4) {
        uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
        if (ihl >= 20 && caplen >= ihl + 8) {
          uint32_t udp_len = ((uint32_t)ip[ihl + 4] << 8) | ip[ihl + 5];
          uint32_t avail = caplen - ihl - 8;
          uint32_t payload = udp_len >= 8 ? udp_len - 8 : 0;
          if (payload <= avail && payload <= rx->slot_size) {
            memcpy(rx->buffer + (size_t)n * rx->slot_size, ip + ihl + 8, payload);
            len = (int32_t)payload;
          }
        }
      }
      rx->lengths[n++] = len;
      if (n == rx->slots) {
        if (call_js(rx, (int)n, NULL) != 0) return;
        n = 0;
      }
      p += h->tp_next_offset;
    }
    __atomic_store_n(&block->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    rx->ring_next = (rx->ring_next + 1) % rx->ring_blocks;
  }
  if (n > 0 && !rx->closing) call_js(rx, (int)n, NULL);
}

/* the index of the interface that holds IPv4 address `addr` (network order), or 0 */
static unsigned int ifindex_of(struct in_addr addr) {
  struct ifaddrs *list = NULL;
  unsigned int index = 0;
  if (getifaddrs(&list) != 0) return 0;
  for (struct ifaddrs *i = list; i != NULL && index == 0; i = i->ifa_next) {
    if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET) continue;
    if (((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == addr.s_addr) index = if_nametoindex(i->ifa_name);
  }
  freeifaddrs(list);
  return index;
}

/*
 * Open the packet ring for UDP to addr:port (both network order) of ring_bytes, blocks retired after `tov_ms`.
 * Returns the packet socket (and sets *ring, *blocks) or -1 with *why set (errno kept for the caller).
 */
static int open_ring(struct in_addr addr, uint16_t port, size_t ring_bytes, unsigned int tov_ms, uint8_t **ring, unsigned int *blocks, const char **why) {
  unsigned int ifindex = ifindex_of(addr);
  if (ifindex == 0) {
    *why = "no interface holds the stream address";
    return -1;
  }
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *why = errno == EPERM || errno == EACCES ? "a packet socket needs CAP_NET_RAW" : "packet socket";
    return -1;
  }
  /* data starts at the IP header (SOCK_DGRAM): IPv4, UDP, not a fragment, to our port and address */
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
      BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 9),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 7),
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 5, 0),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(addr.s_addr), 0, 3),
      BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
      BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohs(port), 1, 0),
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 0x40000),
  };
  struct sock_fprog prog = {sizeof code / sizeof code[0], code};
  int version = TPACKET_V3, one = 1;
  unsigned int nblocks = (unsigned int)((ring_bytes + RING_BLOCK - 1) / RING_BLOCK);
  if (nblocks < RING_MIN_BLOCKS) nblocks = RING_MIN_BLOCKS;
  if (nblocks > RING_MAX_BLOCKS) nblocks = RING_MAX_BLOCKS;
  struct tpacket_req3 req;
  memset(&req, 0, sizeof req);
  req.tp_block_size = RING_BLOCK;
  req.tp_block_nr = nblocks;
  req.tp_frame_size = 2048;
  req.tp_frame_nr = (RING_BLOCK / 2048) * nblocks;
  req.tp_retire_blk_tov = tov_ms > 0 ? tov_ms : 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0) {
    *why = "PACKET_VERSION TPACKET_V3";
  } else if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) {
    *why = "PACKET_IGNORE_OUTGOING";
  } else if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    *why = "SO_ATTACH_FILTER";
  } else if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) {
    *why = "PACKET_RX_RING";
  } else {
    size_t size = (size_t)RING_BLOCK * nblocks;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      *why = "mmap of the packet ring";
    } else {
      struct sockaddr_ll ll;
      memset(&ll, 0, sizeof ll);
      ll.sll_family = AF_PACKET;
      ll.sll_protocol = htons(ETH_P_IP);
      ll.sll_ifindex = (int)ifindex;
      if (bind(fd, (struct sockaddr *)&ll, sizeof ll) == 0) {
        *ring = (uint8_t *)map;
        *blocks = nblocks;
        return fd;
      }
      *why = "bind of the packet socket";
      int e = errno;
      munmap(map, size);
      errno = e;
    }
  }
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}

static void finalize_box(napi_env env, void *data, void *hint) {
  box_t *box = (box_t *)data;
  (void)env;
  (void)hint;
  if (box->rx != NULL) box->rx->box = NULL;
  free(box);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    napi_throw_type_error(env, "ERR_GVSP_ARGS", "open(address, recvBufferBytes, buffer, slotSize, lengths, onBatch[, coalesceMs])");
    return NULL;
  }
  uint32_t coalesce_ms = 0;
  if (argc >= 7) {
    napi_valuetype t;
    CHECK(env, napi_typeof(env, argv[6], &t));
    if (t != napi_undefined && (t != napi_number || napi_get_value_uint32(env, argv[6], &coalesce_ms) != napi_ok || coalesce_ms > 100)) {
      napi_throw_type_error(env, "ERR_GVSP_ARGS", "coalesceMs must be 0..100");
      return NULL;
    }
  }
  uint32_t ring_bytes = 0;
  if (argc >= 8) {
    napi_valuetype t;
    CHECK(env, napi_typeof(env, argv[7], &t));
    if (t != napi_undefined && (t != napi_number || napi_get_value_uint32(env, argv[7], &ring_bytes) != napi_ok || ring_bytes > (256u << 20))) {
      napi_throw_type_error(env, "ERR_GVSP_ARGS", "ringBytes must be 0..256 MiB");
      return NULL;
    }
  }
  char address[64];
  size_t address_len = 0;
  CHECK(env, napi_get_value_string_utf8(env, argv[0], address, sizeof address, &address_len));
  int32_t asked = 0;
  CHECK(env, napi_get_value_int32(env, argv[1], &asked));
  napi_typedarray_type buf_type, len_type;
  size_t buf_len = 0, len_len = 0;
  void *buf_data = NULL, *len_data = NULL;
  CHECK(env, napi_get_typedarray_info(env, argv[2], &buf_type, &buf_len, &buf_data, NULL, NULL));
  int32_t slot_size = 0;
  CHECK(env, napi_get_value_int32(env, argv[3], &slot_size));
  CHECK(env, napi_get_typedarray_info(env, argv[4], &len_type, &len_len, &len_data, NULL, NULL));
  napi_valuetype fn_type;
  CHECK(env, napi_typeof(env, argv[5], &fn_type));
  if (buf_type != napi_uint8_array || len_type != napi_int32_array || fn_type != napi_function || slot_size <= 0 ||
      len_len == 0 || len_len > 1024 || (size_t)slot_size * len_len > buf_len) {
    napi_throw_type_error(env, "ERR_GVSP_ARGS", "buffer must hold lengths.length (1..1024) slots of slotSize bytes");
    return NULL;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (inet_pton(AF_INET, address, &addr.sin_addr) != 1) {
    napi_throw_type_error(env, "ERR_GVSP_ARGS", "address is not an IPv4 address");
    return NULL;
  }

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "stream socket", errno);
  if (asked > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &asked, sizeof asked) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "stream socket SO_RCVBUF", e);
  }
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "stream socket bind", e);
  }
  socklen_t alen = sizeof addr;
  int granted = 0;
  socklen_t glen = sizeof granted;
  if (getsockname(fd, (struct sockaddr *)&addr, &alen) != 0 || getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "stream socket getsockname/getsockopt", e);
  }
  int ring_fd = -1;
  uint8_t *ring = NULL;
  unsigned int ring_blocks = 0;
  char ring_error[200] = "";
  if (ring_bytes > 0) {
    const char *why = "";
    ring_fd = open_ring(addr.sin_addr, addr.sin_port, ring_bytes, coalesce_ms, &ring, &ring_blocks, &why);
    if (ring_fd >= 0) {
      /* the UDP socket only holds the port: drop everything there, the ring has it */
      struct sock_filter none[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
      struct sock_fprog drop = {1, none};
      if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &drop, sizeof drop) != 0) {
        snprintf(ring_error, sizeof ring_error, "SO_ATTACH_FILTER on the UDP socket: %s", strerror(errno));
        munmap(ring, (size_t)RING_BLOCK * ring_blocks);
        close(ring_fd);
        ring_fd = -1;
        ring = NULL;
      }
    } else {
      snprintf(ring_error, sizeof ring_error, "%s: %s", why, strerror(errno));
    }
  }

  rx_t *rx = (rx_t *)calloc(1, sizeof(rx_t));
  if (rx != NULL) {
    rx->msgs = (struct mmsghdr *)calloc(len_len, sizeof(struct mmsghdr));
    rx->iov = (struct iovec *)calloc(len_len, sizeof(struct iovec));
  }
  if (rx == NULL || rx->msgs == NULL || rx->iov == NULL) {
    if (ring != NULL) munmap(ring, (size_t)RING_BLOCK * ring_blocks);
    if (ring_fd >= 0) close(ring_fd);
    close(fd);
    if (rx != NULL) free_rx(rx);
    napi_throw_error(env, "ERR_GVSP_NATIVE", "out of memory");
    return NULL;
  }
  rx->env = env;
  rx->fd = fd;
  rx->ring_fd = ring_fd;
  rx->ring = ring;
  rx->ring_blocks = ring_blocks;
  rx->ring_size = (size_t)RING_BLOCK * ring_blocks;
  rx->buffer = (uint8_t *)buf_data;
  rx->slot_size = (size_t)slot_size;
  rx->lengths = (int32_t *)len_data;
  rx->slots = (unsigned int)len_len;
  rx->coalesce_ms = coalesce_ms;
  for (unsigned int i = 0; i < rx->slots; i++) {
    rx->iov[i].iov_base = rx->buffer + (size_t)i * rx->slot_size;
    rx->iov[i].iov_len = rx->slot_size;
    rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
    rx->msgs[i].msg_hdr.msg_iovlen = 1;
  }

  uv_loop_t *loop = NULL;
  napi_value resource_name;
  int fail = napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL ||
             napi_create_string_utf8(env, "spotfusion_gvsp", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
             napi_async_init(env, NULL, resource_name, &rx->async_ctx) != napi_ok;
  if (!fail && uv_poll_init(loop, &rx->poll, ring != NULL ? ring_fd : fd) != 0) {
    napi_async_destroy(env, rx->async_ctx);
    fail = 1;
  }
  if (fail) {
    if (ring != NULL) munmap(ring, rx->ring_size);
    if (ring_fd >= 0) close(ring_fd);
    close(fd);
    free_rx(rx);
    throw_last(env, "event loop / poll handle");
    return NULL;
  }
  /* uv_timer_init cannot fail (libuv returns 0) */
  uv_timer_init(loop, &rx->timer);
  rx->poll.data = rx;
  rx->timer.data = rx;
  rx->open_handles = 2;
  /* from here on every failure goes through begin_close (the poll handle exists and must be closed) */
  if (napi_create_reference(env, argv[5], 1, &rx->on_batch) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &rx->buffer_ref) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &rx->lengths_ref) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_cleanup, rx, &rx->hook) != napi_ok) {
    begin_close(rx);
    throw_last(env, "references");
    return NULL;
  }
  int st = uv_poll_start(&rx->poll, UV_READABLE, ring != NULL ? on_ring : on_readable);
  if (st != 0) {
    begin_close(rx);
    char msg[160];
    snprintf(msg, sizeof msg, "stream socket poll: %s", uv_strerror(st));
    napi_throw_error(env, "ERR_GVSP_SOCKET", msg);
    return NULL;
  }

  napi_value out, handle, port, rcvbuf;
  box_t *box = (box_t *)calloc(1, sizeof(box_t));
  if (box == NULL) {
    begin_close(rx);
    napi_throw_error(env, "ERR_GVSP_NATIVE", "out of memory");
    return NULL;
  }
  box->rx = rx;
  if (napi_create_external(env, box, finalize_box, NULL, &handle) != napi_ok) {
    free(box);
    begin_close(rx);
    throw_last(env, "napi_create_external");
    return NULL;
  }
  rx->box = box;
  CHECK(env, napi_create_object(env, &out));
  CHECK(env, napi_create_uint32(env, ntohs(addr.sin_port), &port));
  CHECK(env, napi_create_int32(env, granted, &rcvbuf));
  CHECK(env, napi_set_named_property(env, out, "handle", handle));
  CHECK(env, napi_set_named_property(env, out, "port", port));
  if (ring != NULL) CHECK(env, napi_create_int32(env, (int32_t)rx->ring_size, &rcvbuf));
  CHECK(env, napi_set_named_property(env, out, "recvBufferBytes", rcvbuf));
  napi_value mode;
  CHECK(env, napi_create_string_utf8(env, ring != NULL ? "ring" : "recvmmsg", NAPI_AUTO_LENGTH, &mode));
  CHECK(env, napi_set_named_property(env, out, "mode", mode));
  if (ring_error[0] != '\0') {
    napi_value why;
    CHECK(env, napi_create_string_utf8(env, ring_error, NAPI_AUTO_LENGTH, &why));
    CHECK(env, napi_set_named_property(env, out, "ringError", why));
  }
  return out;
}

/* close(handle): stop watching and close the socket (asynchronously, with the poll handle); idempotent */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_GVSP_ARGS", "close(handle): handle from open()");
    return NULL;
  }
  box_t *box = (box_t *)data;
  if (box->rx != NULL) begin_close(box->rx);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
