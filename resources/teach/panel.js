/* global $, window, RED, document */
// Teach view, the panel: a tray over the recipe config dialog with the frame (grabbed from a deployed camera
// config node or uploaded), the drawing tools, the fields of the selected spots, a grid copy, the program shown,
// the part reference, "Try it" with a deployed model config, the recipe's problems, and the recipe JSON, which
// follows every change and may be typed in (the view follows it). Done hands the text to the dialog's own JSON
// editor; Cancel leaves the dialog as it was. Texts: spotfusion-recipe-config.teach.* (en-US, de).
(function () {
  'use strict';
  var NS = '@spotfusion/node-red-spotfusion-edge/spotfusion-recipe-config:spotfusion-recipe-config.teach.';
  var FIELDS = [
    { key: 'id', type: 'text' },
    { key: 'x', type: 'int' },
    { key: 'y', type: 'int' },
    { key: 'w', type: 'int' },
    { key: 'h', type: 'int' },
    { key: 'rotation', type: 'number' },
    { key: 'expectedDiameter', type: 'number' },
    { key: 'stackupThickness', type: 'number' },
    { key: 'head', type: 'list' },
    { key: 'search', type: 'number' }
  ];
  var ERROR = 'var(--red-ui-text-color-error, #c00)';

  function t(key, opts) {
    return RED._(NS + key, opts);
  }

  function T() {
    return window.SpotFusionTeach;
  }

  function configNodes(type) {
    var out = [];
    RED.nodes.eachConfig(function (c) {
      if (c.type === type) out.push(c);
    });
    return out;
  }

  function button(icon, key, cls) {
    return $('<button type="button" class="red-ui-button red-ui-button-small"></button>')
      .addClass(cls || '')
      .attr('title', t(key))
      .append($('<i class="fa"></i>').addClass(icon))
      .append($('<span></span>').text(' ' + t(key)));
  }

  /** the JSON text area: what a person types is input; what the view writes keeps the caret and the scroll */
  function jsonArea(ta) {
    return {
      el: ta,
      getValue: function () {
        return String(ta.val());
      },
      setValue: function (text) {
        if (ta.val() === text) return;
        var top = ta.scrollTop();
        ta.val(text);
        ta.scrollTop(top);
      },
      onInput: function (fn) {
        ta.on('input', fn);
      }
    };
  }

  /**
   * Open the teach view. opts: { node (the recipe config being edited), text() (the dialog's JSON), setText(text)
   * (into the dialog's editor), sensor() → { width, height } or undefined, onSensor(width, height), onCancel() (the
   * dialog puts back what the view changed besides the text) }.
   */
  function Panel(opts) {
    this.opts = opts;
    this.original = opts.text();
    this.frameId = null;
    this.result = null;
    this.pending = []; // reference regions drawn, not yet taught
    var self = this;
    RED.tray.show({
      title: t('title'),
      width: Infinity,
      buttons: [
        {
          id: 'sf-teach-cancel',
          text: t('cancel'),
          click: function () {
            if (self.opts.onCancel) self.opts.onCancel();
            RED.tray.close();
          }
        },
        {
          id: 'sf-teach-done',
          text: t('done'),
          class: 'primary',
          click: function () {
            // the dialog's editor gets the text once, as shown here (a reason stays visible there too)
            var text = self.json.getValue();
            RED.tray.close();
            self.opts.setText(text);
          }
        }
      ],
      open: function (tray) {
        self.build(tray.find('.red-ui-tray-body'));
      },
      resize: function (dims) {
        self.resize(dims);
      },
      close: function () {
        self.close();
      }
    });
  }

  Panel.prototype.build = function (body) {
    var self = this;
    var S = T();
    body.css({ padding: 0, overflow: 'hidden' });
    var root = $('<div class="sf-teach" style="display:flex; flex-direction:column; height:100%; min-height:400px;"></div>').appendTo(body);
    this.root = root;
    // --- frame source
    var bar1 = $('<div class="sf-teach-bar" style="display:flex; flex-wrap:wrap; gap:6px; align-items:center; padding:6px 8px;"></div>').appendTo(root);
    this.camera = $('<select class="sf-teach-camera" style="width:180px"></select>').appendTo(bar1);
    configNodes('spotfusion-camera-config').forEach(function (c) {
      $('<option></option>').val(c.id).text(c.name || c.cameraId || c.id).appendTo(self.camera);
    });
    button('fa-camera', 'grab', 'sf-teach-grab').appendTo(bar1).on('click', function () {
      self.grab();
    });
    this.archive = $('<select class="sf-teach-archive" style="width:150px; margin-left:12px"></select>').appendTo(bar1);
    RED.nodes.eachNode(function (n) {
      if (n.type === 'result-publish' && n.archivePolicy && n.archivePolicy !== 'none') $('<option></option>').val(n.id).text(n.name || n.id).appendTo(self.archive);
    });
    button('fa-archive', 'archived', 'sf-teach-archived').appendTo(bar1).on('click', function () {
      self.fromArchive();
    });
    $('<span style="margin-left:12px"></span>').text(t('upload')).appendTo(bar1);
    this.format = $('<select class="sf-teach-format" style="width:110px"><option value="image"></option><option value="mono8"></option></select>').appendTo(bar1);
    this.format.find('option[value=image]').text(t('formatImage'));
    this.format.find('option[value=mono8]').text(t('formatMono8'));
    this.rawW = $('<input type="number" class="sf-teach-raw-w" style="width:70px; display:none" min="1">').attr('placeholder', t('width')).appendTo(bar1);
    this.rawH = $('<input type="number" class="sf-teach-raw-h" style="width:70px; display:none" min="1">').attr('placeholder', t('height')).appendTo(bar1);
    this.format.on('change', function () {
      var raw = self.format.val() === 'mono8';
      self.rawW.toggle(raw);
      self.rawH.toggle(raw);
    });
    this.file = $('<input type="file" class="sf-teach-file" accept=".png,.jpg,.jpeg,.tif,.tiff,.raw,.bin,image/*" style="width:220px">').appendTo(bar1);
    this.file.on('change', function () {
      if (this.files && this.files[0]) self.upload(this.files[0]);
    });
    button('fa-arrows-alt', 'fit', 'sf-teach-fit').appendTo(bar1).on('click', function () {
      self.view.fit();
    });
    this.status = $('<span class="sf-teach-status" style="margin-left:8px; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:40%"></span>').appendTo(bar1);
    // --- tools
    var bar2 = $('<div class="sf-teach-bar" style="display:flex; flex-wrap:wrap; gap:6px; align-items:center; padding:0 8px 6px;"></div>').appendTo(root);
    this.modes = {};
    [['select', 'fa-mouse-pointer'], ['create', 'fa-plus-square-o'], ['reference', 'fa-crosshairs']].forEach(function (m) {
      self.modes[m[0]] = button(m[1], 'mode.' + m[0], 'sf-teach-mode-' + m[0]).appendTo(bar2).on('click', function () {
        self.tools.setMode(m[0]);
      });
    });
    button('fa-trash', 'delete', 'sf-teach-delete').appendTo(bar2).on('click', function () {
      self.doc.deleteSelected();
    });
    button('fa-undo', 'undo', 'sf-teach-undo').appendTo(bar2).on('click', function () {
      self.doc.undo();
    });
    button('fa-repeat', 'redo', 'sf-teach-redo').appendTo(bar2).on('click', function () {
      self.doc.redo();
    });
    $('<span style="margin-left:12px"></span>').text(t('program')).appendTo(bar2);
    this.program = $('<select class="sf-teach-program" style="width:140px"></select>').appendTo(bar2);
    this.program.on('change', function () {
      self.doc.recipeIndex = Number(self.program.val()) || 0;
      self.doc.select([]);
      self.result = null;
      self.refresh();
    });
    $('<span style="margin-left:12px"></span>').text(t('model')).appendTo(bar2);
    this.model = $('<select class="sf-teach-model" style="width:160px"></select>').appendTo(bar2);
    configNodes('spotfusion-model-config').forEach(function (c) {
      $('<option></option>').val(c.id).text(c.name || c.id).appendTo(self.model);
    });
    var usedModel = this.modelOfCrop();
    if (usedModel) this.model.val(usedModel);
    button('fa-play', 'try', 'sf-teach-try').appendTo(bar2).on('click', function () {
      self.tryIt();
    });
    // --- canvas and side panel
    var main = $('<div style="display:flex; flex:1; min-height:0;"></div>').appendTo(root);
    var left = $('<div style="flex:1; display:flex; flex-direction:column; min-width:0; padding:0 8px 8px;"></div>').appendTo(main);
    this.canvasBox = $('<div class="sf-teach-canvas-box" style="flex:1; min-height:200px; border:2px solid transparent; position:relative;"></div>').appendTo(left);
    this.canvas = $('<canvas class="sf-teach-canvas" tabindex="0" style="width:100%; height:100%; display:block; outline:none;"></canvas>').appendTo(this.canvasBox);
    this.problems = $('<div class="sf-teach-problems" style="max-height:60px; overflow:auto; color:' + ERROR + '"></div>').appendTo(left);
    var side = $('<div class="sf-teach-side" style="width:420px; display:flex; flex-direction:column; padding:0 8px 8px 0; min-height:0;"></div>').appendTo(main);
    this.buildFields(side);
    this.buildGrid(side);
    this.buildReference(side);
    $('<div style="margin-top:6px; font-weight:bold"></div>').text(t('json')).appendTo(side);
    this.jsonError = $('<div class="sf-teach-json-error" style="color:' + ERROR + '; display:none"></div>').appendTo(side);
    // a plain text area: the set's JSON follows every change at drag speed; a code editor with its language worker
    // behind it would re-check the whole set after each one
    this.json = jsonArea($('<textarea class="sf-teach-json" spellcheck="false" style="flex:1; min-height:150px; width:100%; resize:none; font-family:monospace; font-size:12px; white-space:pre; overflow:auto;"></textarea>').appendTo(side));

    // --- the model of it all
    this.doc = new S.Doc(this.original);
    this.view = new S.View(this.canvas[0], function (ctx, view) {
      S.overlay.draw(ctx, view, { doc: self.doc, tools: self.tools, bad: self.bad, result: self.result, reference: self.referenceShown() });
    });
    var sensor = this.opts.sensor && this.opts.sensor();
    if (sensor) this.view.setSensor(sensor.width, sensor.height);
    this.tools = new S.Tools(this.view, this.doc, {
      onMode: function (mode) {
        Object.keys(self.modes).forEach(function (m) {
          self.modes[m].toggleClass('selected', m === mode);
        });
      },
      onDrag: function () {
        self.showFields();
      },
      onReference: function (r) {
        r.id = 'F' + (self.pending.length + 1);
        self.pending.push(r);
        self.showReference();
      }
    });
    this.tools.setMode('select');
    this.json.setValue(this.doc.text());
    this.json.onInput(function () {
      clearTimeout(self.typing);
      self.typing = setTimeout(function () {
        if (!self.closed) self.doc.setText(self.json.getValue());
      }, 250);
    });
    this.doc.on(function (why) {
      if (why === 'error') {
        self.jsonError.text(self.doc.error).show();
        return;
      }
      self.jsonError.hide();
      if (why === 'change') self.writeText();
      if (why !== 'select') self.result = null;
      self.refresh();
    });
    this.refresh();
    // the panel for tests and scripts
    S.current = this;
  };

  Panel.prototype.buildFields = function (side) {
    var self = this;
    $('<div style="font-weight:bold"></div>').text(t('spot')).appendTo(side);
    var table = $('<div class="sf-teach-fields" style="display:grid; grid-template-columns: 92px 1fr 92px 1fr; gap:3px 6px; align-items:center; font-size:12px;"></div>').appendTo(side);
    this.fields = {};
    FIELDS.forEach(function (f) {
      $('<label style="margin:0; width:auto; line-height:1.1"></label>').text(t('field.' + f.key)).appendTo(table);
      var input = $('<input type="text" style="width:100%; height:26px; padding:2px 4px;">').addClass('sf-teach-field-' + f.key).appendTo(table);
      input.on('change', function () {
        self.applyField(f, input.val());
      });
      self.fields[f.key] = input;
    });
    this.verdict = $('<div class="sf-teach-verdict" style="margin-top:3px; min-height:1.3em; font-size:12px"></div>').appendTo(side);
  };

  Panel.prototype.buildGrid = function (side) {
    var self = this;
    $('<div style="margin-top:6px; font-weight:bold"></div>').text(t('grid.title')).appendTo(side);
    var row = $('<div style="display:flex; gap:4px; align-items:center; flex-wrap:wrap"></div>').appendTo(side);
    this.grid = {};
    [['cols', 3], ['rows', 1], ['pitchX', 100], ['pitchY', 100]].forEach(function (g) {
      $('<span></span>').text(t('grid.' + g[0])).appendTo(row);
      self.grid[g[0]] = $('<input type="number" style="width:58px">').addClass('sf-teach-grid-' + g[0]).val(g[1]).appendTo(row);
    });
    button('fa-th', 'grid.copy', 'sf-teach-grid').appendTo(row).on('click', function () {
      self.gridCopy();
    });
  };

  Panel.prototype.buildReference = function (side) {
    var self = this;
    $('<div style="margin-top:6px; font-weight:bold"></div>').text(t('reference.title')).appendTo(side);
    var row = $('<div style="display:flex; gap:4px; align-items:center; flex-wrap:wrap"></div>').appendTo(side);
    this.referenceInfo = $('<span class="sf-teach-reference-info"></span>').appendTo(row);
    button('fa-magic', 'reference.teach', 'sf-teach-reference').appendTo(row).on('click', function () {
      self.teachReference();
    });
    button('fa-times', 'reference.clear', 'sf-teach-reference-clear').appendTo(row).on('click', function () {
      self.pending = [];
      var r = self.doc.recipe();
      if (r && r.locate !== undefined) {
        self.doc.change(function () {
          delete this.recipe().locate;
        });
      } else self.refresh();
    });
  };

  /** the model config of a crop node that uses this recipe config: the one Try it preselects */
  Panel.prototype.modelOfCrop = function () {
    var id = this.opts.node && this.opts.node.id;
    var found;
    RED.nodes.eachNode(function (n) {
      if (!found && n.type === 'crop' && n.recipes === id && n.model) found = n.model;
    });
    return found;
  };

  /** the verdict rules of an enrich node of the flow (the one on the crop node's tab first), JSON text */
  Panel.prototype.rules = function () {
    var id = this.opts.node && this.opts.node.id;
    var tab;
    RED.nodes.eachNode(function (n) {
      if (!tab && n.type === 'crop' && n.recipes === id) tab = n.z;
    });
    var found;
    RED.nodes.eachNode(function (n) {
      if (n.type === 'enrich' && n.rules && (!found || (n.z === tab && found.z !== tab))) found = n;
    });
    return found ? found.rules : undefined;
  };

  Panel.prototype.writeText = function () {
    if (!this.closed) this.json.setValue(this.doc.text());
  };

  Panel.prototype.say = function (text, bad) {
    this.status.text(text).attr('title', text).css('color', bad ? ERROR : '');
  };

  /** the part reference of the shown recipe (its own section or the shared one it names) and the pending regions */
  Panel.prototype.referenceShown = function () {
    var r = this.doc.recipe();
    var loc = r && r.locate;
    if (typeof loc === 'string') loc = this.doc.set.locates && this.doc.set.locates[loc];
    var features = (loc && Array.isArray(loc.features) ? loc.features : []).concat(this.pending);
    return { features: features };
  };

  Panel.prototype.showReference = function () {
    var r = this.doc.recipe();
    var taught = r && r.locate ? (typeof r.locate === 'string' ? t('reference.shared', { name: r.locate }) : t('reference.taught', { n: (r.locate.features || []).length })) : t('reference.none');
    this.referenceInfo.text(taught + (this.pending.length ? ' · ' + t('reference.pending', { n: this.pending.length }) : ''));
    this.view.redraw();
  };

  Panel.prototype.refresh = function () {
    var S = T();
    var self = this;
    var doc = this.doc;
    // programs
    var programs = doc.set.recipes.map(function (r, i) {
      return { i: i, label: r && r.program !== undefined ? String(r.program) + (r.product ? ' (' + r.product + ')' : '') : '#' + (i + 1) };
    });
    var now = this.program.children().map(function () {
      return $(this).text();
    }).get();
    if (now.join('\n') !== programs.map(function (p) { return p.label; }).join('\n')) {
      this.program.empty();
      programs.forEach(function (p) {
        $('<option></option>').val(p.i).text(p.label).appendTo(self.program);
      });
    }
    this.program.val(String(doc.recipeIndex));
    // problems: the dialog's checks, with the shown frame as the sensor
    var problems = S.geometry.recipeProblems(doc.set, { width: this.view.width, height: this.view.height });
    this.bad = {};
    problems.forEach(function (p) {
      if (p.recipe === doc.recipeIndex && p.index !== undefined) self.bad[p.index] = true;
    });
    this.problems.empty();
    problems.slice(0, 20).forEach(function (p) {
      $('<div></div>').text(p.message).appendTo(self.problems);
    });
    this.canvasBox.toggleClass('sf-teach-invalid', problems.length > 0).css('border-color', problems.length ? 'var(--red-ui-form-input-border-error-color, #d6615f)' : 'transparent');
    this.showFields();
    this.showReference();
    this.view.redraw();
  };

  /** the fields show the selected spots' values (blank where they differ) */
  Panel.prototype.showFields = function () {
    var sel = this.doc.selected();
    var self = this;
    FIELDS.forEach(function (f) {
      var input = self.fields[f.key];
      if (input.is(':focus')) return;
      var values = sel.map(function (s) {
        var v = s[f.key];
        return v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v);
      });
      var same = values.length && values.every(function (v) {
        return v === values[0];
      });
      input.val(same ? values[0] : '').attr('placeholder', values.length > 1 && !same ? t('mixed') : '');
      input.prop('disabled', !sel.length || (f.key === 'id' && sel.length > 1));
    });
    this.showVerdict();
  };

  /** the last try's verdict and reason for the one selected spot */
  Panel.prototype.showVerdict = function () {
    var sel = this.doc.selected();
    var v;
    if (this.result && sel.length === 1) {
      this.result.spots.forEach(function (s) {
        if (s.spotId === String(sel[0].id)) v = s;
      });
    }
    this.verdict
      .text(v ? v.spotId + ': ' + v.verdict + (v.label ? ' (' + v.label + (typeof v.score === 'number' ? ' ' + v.score.toFixed(2) : '') + ')' : '') + (v.reason ? ' · ' + v.reason : '') : '')
      .css('color', v && v.verdict !== 'OK' ? ERROR : '');
  };

  Panel.prototype.applyField = function (f, raw) {
    var text = String(raw).trim();
    var value;
    if (text === '') {
      if (['id', 'x', 'y', 'w', 'h'].indexOf(f.key) >= 0) return this.showFields();
      value = undefined;
    } else if (f.type === 'text') value = text;
    else if (f.type === 'list') {
      var list = text.split(',').map(function (s) {
        return s.trim();
      }).filter(Boolean);
      value = list.length === 1 ? list[0] : list;
    } else {
      value = Number(text.replace(',', '.'));
      if (!isFinite(value)) {
        this.say(t('notNumber', { field: t('field.' + f.key) }), true);
        return this.showFields();
      }
      if (f.type === 'int') value = Math.round(value);
      if (f.key === 'rotation' && value === 0) value = undefined;
    }
    this.doc.setField(f.key, value);
  };

  Panel.prototype.gridCopy = function () {
    var sel = this.doc.selected();
    if (sel.length !== 1) return this.say(t('grid.one'), true);
    var n = function (input, lo) {
      var v = Math.round(Number(input.val()));
      return isFinite(v) && v >= lo ? v : lo;
    };
    var cols = Math.min(64, n(this.grid.cols, 1));
    var rows = Math.min(64, n(this.grid.rows, 1));
    var px = Number(this.grid.pitchX.val()) || 0;
    var py = Number(this.grid.pitchY.val()) || 0;
    var copies = T().geometry.grid(sel[0], this.doc.spots(), cols, rows, px, py);
    if (copies.length) this.doc.addSpots(copies);
  };

  /** show a frame the server keeps (reply of grab or upload) */
  Panel.prototype.show = function (reply) {
    var self = this;
    var S = T();
    return S.client
      .frame(reply.frame)
      .then(S.View.decode)
      .then(function (bitmap) {
        var resized = reply.width !== self.view.width || reply.height !== self.view.height || !self.view.image;
        self.view.setImage(bitmap, reply.width, reply.height);
        self.frameId = reply.frame;
        self.canvas.attr('data-frame', reply.frame).attr('data-size', reply.width + 'x' + reply.height);
        self.result = null;
        if (self.opts.onSensor) self.opts.onSensor(reply.width, reply.height);
        if (resized) self.view.fit();
        self.refresh();
        self.say(t('shown', { width: reply.width, height: reply.height, source: reply.source }));
      });
  };

  Panel.prototype.grab = function () {
    var id = this.camera.val();
    var self = this;
    if (!id) return this.say(t('noCamera'), true);
    this.say(t('grabbing'));
    T()
      .client.grab(id)
      .then(function (reply) {
        return self.show(reply);
      })
      .catch(function (err) {
        self.say(t('failed', { error: err.message }), true);
      });
  };

  Panel.prototype.fromArchive = function () {
    var id = this.archive.val();
    var self = this;
    if (!id) return this.say(t('noArchive'), true);
    this.say(t('grabbing'));
    T()
      .client.archived(id)
      .then(function (reply) {
        return self.show(reply);
      })
      .catch(function (err) {
        self.say(t('failed', { error: err.message }), true);
      });
  };

  Panel.prototype.upload = function (file) {
    var self = this;
    var format = this.format.val();
    this.say(t('uploading', { name: file.name }));
    T()
      .client.upload(file, format, this.rawW.val(), this.rawH.val())
      .then(function (reply) {
        return self.show(reply);
      })
      .catch(function (err) {
        self.say(t('failed', { error: err.message }), true);
      });
  };

  Panel.prototype.tryIt = function () {
    var self = this;
    var r = this.doc.recipe();
    if (!this.frameId) return this.say(t('noFrame'), true);
    if (!this.model.val()) return this.say(t('noModel'), true);
    if (!r) return this.say(t('noRecipe'), true);
    this.say(t('trying'));
    T()
      .client.tryIt(this.frameId, this.doc.text(), r.program, this.model.val(), this.rules())
      .then(function (reply) {
        self.result = reply;
        var count = { OK: 0, NOK: 0, MISSING: 0 };
        reply.spots.forEach(function (s) {
          count[s.verdict] = (count[s.verdict] || 0) + 1;
        });
        var where = reply.locate ? (reply.locate.ok ? t('located', { dx: reply.locate.dx.toFixed(1), dy: reply.locate.dy.toFixed(1), angle: reply.locate.angleDeg.toFixed(2), score: reply.locate.score.toFixed(2) }) : t('notLocated', { reason: reply.locate.reason || '' })) + ' · ' : '';
        self.canvas.attr('data-verdicts', JSON.stringify(count));
        self.say(where + t('verdicts', { ok: count.OK, nok: count.NOK, missing: count.MISSING, ms: reply.ms }), reply.locate && !reply.locate.ok);
        self.showVerdict();
        self.view.redraw();
      })
      .catch(function (err) {
        self.say(t('failed', { error: err.message }), true);
      });
  };

  Panel.prototype.teachReference = function () {
    var self = this;
    if (!this.frameId) return this.say(t('noFrame'), true);
    if (!this.pending.length) return this.say(t('reference.draw'), true);
    T()
      .client.reference(this.frameId, this.pending)
      .then(function (reply) {
        self.pending = [];
        self.doc.change(function () {
          var r = this.recipe();
          if (!r) return;
          // a recipe that names a shared section teaches that section (every program of the part uses it)
          if (typeof r.locate === 'string' && this.set.locates && this.set.locates[r.locate]) this.set.locates[r.locate] = reply.locate;
          else r.locate = reply.locate;
        });
        self.say(t('reference.done', { n: reply.locate.features.length }));
      })
      .catch(function (err) {
        self.say(t('failed', { error: err.message }), true);
      });
  };

  Panel.prototype.resize = function (dims) {
    if (!this.root || this.closed) return;
    if (dims && dims.height) this.root.css('height', dims.height + 'px');
    if (this.view) {
      var first = !this.sized;
      this.sized = true;
      this.view.resize();
      if (first) this.view.fit();
    }
  };

  Panel.prototype.close = function () {
    this.closed = true;
    clearTimeout(this.typing);
    if (this.view && this.view.image && this.view.image.close) this.view.image.close();
    if (T().current === this) T().current = null;
    if (this.opts.onClose) this.opts.onClose();
  };

  var S = (window.SpotFusionTeach = window.SpotFusionTeach || {});
  S.open = function (opts) {
    return new Panel(opts);
  };
  void document;
})();
