/* global $, window, RED, SpotFusionConnectionTest */
// "Browse tags" in the PLC dialogs: asks POST spotfusion/editor/browse/plc-config for what the controller offers
// (Logix: controller and program tags, UDT members; OPC UA: the address space) and shows it as a searchable
// list. In plc-read and plc-write a click on an entry adds a tag-map row with its address, type and count; in
// the PLC config dialog the list shows what the settings reach. Needs connection-test.js (its post()).
(function () {
  'use strict';
  var NS = '@spotfusion/node-red-spotfusion-edge/plc-config:plc-config.tools.';
  var SHOWN = 500; // rows drawn at a time; the search narrows the rest
  function t(key, opts) {
    return RED._(NS + key, opts);
  }

  /** The request for a plc-config node chosen in a flow node's dialog (its editor state, not only the deployed one). */
  function fromConfigNode(id) {
    var n = RED.nodes.node(id);
    if (!n) return undefined;
    var config = {};
    Object.keys(n._def.defaults || {}).forEach(function (k) {
      config[k] = n[k];
    });
    var c = n.credentials || {};
    var credentials = { username: c.username };
    // a stored password the editor does not hold: the server takes the deployed node's
    credentials.password = c.password !== undefined && c.password !== '' ? c.password : c.has_password ? '__PWRD__' : undefined;
    return { id: id, config: config, credentials: credentials };
  }

  /** A tag-map name from an address: the last part, letters, digits and _ only, unique among `taken`. */
  function nameFor(entry, taken) {
    var base = String(entry.name || entry.address)
      .replace(/^Program:[^.]+\./i, '')
      .replace(/^ns=\d+;[a-z]=/i, '')
      .replace(/\[\d+\]/g, '')
      .replace(/[^A-Za-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'tag';
    var name = base;
    for (var k = 2; taken.indexOf(name) >= 0; k++) name = base + '_' + k;
    return name;
  }

  function typeText(e) {
    return e.type + (e.count ? '[' + e.count + ']' : '') + (e.detail ? ' ' + e.detail : '');
  }

  var api = {
    nameFor: nameFor,
    /**
     * Put a Browse tags button into `anchor` (a form row) and its panel below the row.
     * opts.request(): the { id, config, credentials } to browse, or undefined with opts.missing() as the reason;
     * opts.pick(entry): called with the entry clicked (absent: the list is for reading only).
     */
    attach: function (anchor, opts) {
      var button = $('<button type="button" class="red-ui-button red-ui-button-small sf-tag-browse" style="margin-left: 8px"></button>')
        .append('<i class="fa fa-search"></i> ')
        .append($('<span></span>').text(t('browse')));
      // beside a Test connection button when the row has one, else at the end of the row
      var beside = $(anchor).find('.sf-connection-test');
      if (beside.length) button.insertAfter(beside);
      else button.appendTo(anchor);
      var panel = $('<div class="form-row sf-tag-browser" style="display: none"></div>').insertAfter($(anchor).closest('.form-row'));
      var head = $('<div style="display: flex; gap: 6px; align-items: center"></div>').appendTo(panel);
      var search = $('<input type="text" class="sf-tag-search" style="flex: 1">').attr('placeholder', t('search')).appendTo(head);
      var status = $('<div class="sf-tag-status" style="margin: 4px 0; white-space: pre-wrap"></div>').appendTo(panel);
      var list = $('<ul class="sf-tag-list" style="list-style: none; margin: 0; padding: 0; max-height: 260px; overflow-y: auto; border: 1px solid var(--red-ui-form-input-border-color, #ccc); border-radius: 4px"></ul>').appendTo(panel);
      var entries = [];

      function draw() {
        var q = search.val().trim().toLowerCase();
        var hits = entries.filter(function (e) {
          return !q || (e.address + ' ' + typeText(e) + ' ' + e.scope).toLowerCase().indexOf(q) >= 0;
        });
        list.empty();
        hits.slice(0, SHOWN).forEach(function (e) {
          var li = $('<li class="sf-tag-entry" style="display: flex; gap: 8px; padding: 2px 6px; border-bottom: 1px solid var(--red-ui-secondary-border-color, #eee)"></li>')
            .attr('data-address', e.address)
            .appendTo(list);
          $('<code class="sf-tag-address" style="flex: 1; overflow-wrap: anywhere"></code>').text(e.address).appendTo(li);
          $('<span class="sf-tag-type" style="min-width: 90px"></span>').text(typeText(e)).appendTo(li);
          $('<span class="sf-tag-scope" style="color: var(--red-ui-secondary-text-color, #888)"></span>').text(e.scope).appendTo(li);
          if (opts.pick) {
            li.css('cursor', 'pointer').attr('title', t('pick'));
            li.on('click', function () {
              opts.pick(e);
              li.css('background', 'var(--red-ui-node-selected-color, #ddf)');
            });
          }
        });
        status.text(t('found', { shown: Math.min(hits.length, SHOWN), total: entries.length }));
      }
      search.on('input', draw);

      /** the dialog's other rows (the tag list) give up the height the panel takes */
      function relayout() {
        if (RED.tray && typeof RED.tray.resize === 'function') RED.tray.resize();
      }

      button.on('click', function () {
        panel.show();
        relayout();
        var req = opts.request();
        if (!req) {
          status.css('color', 'var(--red-ui-text-color-error, #c00)').text(opts.missing ? opts.missing() : t('noPlc'));
          return;
        }
        button.prop('disabled', true);
        list.empty();
        status.css('color', '').text(t('browsing'));
        SpotFusionConnectionTest.post('browse/plc-config', req, function (err, reply) {
          button.prop('disabled', false);
          if (err || !reply.ok) {
            entries = [];
            status.css('color', 'var(--red-ui-text-color-error, #c00)').text(t('browseFailed', { error: err ? err.message : reply.error }));
            return;
          }
          entries = reply.entries || [];
          status.css('color', '');
          draw();
          if (reply.truncated) status.text(status.text() + ' ' + t('truncated'));
          relayout();
          search.trigger('focus');
        });
      });
      return { button: button, panel: panel };
    },
    /** plc-read / plc-write: browse the chosen plc-config, a click adds a row to the tag map list. */
    forTagMap: function (anchor, listSelector, plcSelector) {
      return api.attach(anchor, {
        request: function () {
          var id = $(plcSelector).val();
          return id && id !== '_ADD_' ? fromConfigNode(id) : undefined;
        },
        missing: function () {
          return t('noPlc');
        },
        pick: function (e) {
          var taken = $(listSelector)
            .editableList('items')
            .map(function () {
              return $(this).find('.tag-name').val();
            })
            .get();
          var row = { name: nameFor(e, taken), address: e.address, type: e.type };
          if (e.count) row.count = e.count;
          $(listSelector).editableList('addItem', row);
        }
      });
    }
  };
  window.SpotFusionTagBrowser = api;
})();
