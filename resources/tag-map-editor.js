/* global $, window */
// Editor code shared by plc-read and plc-write: the editable list of the PLC tag map. Node-RED serves this
// file from the package's resources/ folder; each node's .html loads it before its registerType script.
(function () {
  'use strict';
  var TYPES = ['BOOL', 'SINT', 'INT', 'DINT', 'LINT', 'USINT', 'UINT', 'UDINT', 'ULINT', 'REAL', 'LREAL', 'STRING', 'UDT'];
  var ROLES = ['', 'serial', 'program', 'model', 'extra'];

  function select(options, value, width) {
    var s = $('<select/>').css({ width: width });
    options.forEach(function (o) {
      $('<option/>').val(o).text(o || '-').appendTo(s);
    });
    s.val(value);
    return s;
  }

  window.SpotFusionTagMap = {
    /** Build the list in `selector` from the node's tags; withRoles adds the part-role column (plc-read). */
    prepare: function (selector, tags, withRoles) {
      $(selector)
        .css('min-height', '200px')
        .css('min-width', '450px')
        .editableList({
          addItem: function (row, i, t) {
            t = t || {};
            row.css({ display: 'flex', gap: '4px' });
            $('<input type="text" class="tag-name" placeholder="name"/>').css({ width: '18%' }).val(t.name || '').appendTo(row);
            $('<input type="text" class="tag-address" placeholder="address / node id"/>').css({ width: '30%' }).val(t.address || '').appendTo(row);
            select(TYPES, t.type || 'DINT', '12%').addClass('tag-type').appendTo(row);
            $('<input type="text" class="tag-count" placeholder="n"/>').css({ width: '6%' }).val(t.count || '').appendTo(row);
            $('<input type="text" class="tag-scale" placeholder="scale"/>').css({ width: '8%' }).val(t.scale === undefined ? '' : t.scale).appendTo(row);
            $('<input type="text" class="tag-unit" placeholder="unit"/>').css({ width: '7%' }).val(t.unit || '').appendTo(row);
            if (withRoles) select(ROLES, t.role || '', '12%').addClass('tag-role').appendTo(row);
          },
          removable: true,
          sortable: true
        });
      (tags || []).forEach(function (t) {
        $(selector).editableList('addItem', t);
      });
    },
    /**
     * oneditresize of plc-read and plc-write: the list takes the dialog's height left by the other rows, so
     * every row stays reachable (it scrolls) however many tags there are and however small the window.
     */
    resize: function (selector, size) {
      var h = size.height;
      // only the rows on show: jQuery measures a hidden row as if it were shown
      $('#dialog-form>div:not(.node-input-tag-list-row):visible').each(function () {
        h -= $(this).outerHeight(true);
      });
      $(selector).editableList('height', Math.max(120, h - 30));
    },
    /** The tag map as the editor holds it now. */
    read: function (selector) {
      var tags = [];
      $(selector)
        .editableList('items')
        .each(function () {
          var r = $(this);
          var t = { name: r.find('.tag-name').val().trim(), address: r.find('.tag-address').val().trim(), type: r.find('.tag-type').val() };
          var c = r.find('.tag-count').val().trim();
          var s = r.find('.tag-scale').val().trim();
          var u = r.find('.tag-unit').val().trim();
          var ro = r.find('.tag-role').val();
          if (c) t.count = Number(c);
          if (s) t.scale = Number(s);
          if (u) t.unit = u;
          if (ro) t.role = ro;
          if (t.name || t.address) tags.push(t);
        });
      return tags;
    }
  };
})();
