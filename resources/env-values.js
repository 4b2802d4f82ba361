/* global $, window, RED */
// Fields bound to ${VAR}: under each one a line names the variable and its value now, from
// GET spotfusion/editor/env (only variables that fields of this package's deployed nodes use; names that look
// secret say only "set"; a variable no deployed node uses yet says so). Called from oneditprepare.
(function () {
  'use strict';
  var NS = '@spotfusion/node-red-spotfusion-edge/plc-config:plc-config.tools.';
  var REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  function t(key, opts) {
    return RED._(NS + key, opts);
  }

  function names(value) {
    var out = [];
    var m;
    REF.lastIndex = 0;
    while ((m = REF.exec(String(value || '')))) if (out.indexOf(m[1]) < 0) out.push(m[1]);
    return out;
  }

  function describe(name, v) {
    if (!v || !v.referenced) return t('env.notDeployed', { name: name });
    if (!v.set) return t('env.unset', { name: name });
    if (v.masked) return t('env.masked', { name: name });
    return t('env.value', { name: name, value: v.value });
  }

  var api = {
    names: names,
    /** Show the value under every field of the open dialog that holds a ${VAR}; again after each change. */
    show: function () {
      // a config dialog has a form of its own (over the #dialog-form of a node whose dialog may be open below)
      var form = $('#node-config-dialog-edit-form');
      var fields = (form.length ? form : $('#dialog-form')).find('input[id^="node-"], select[id^="node-"]').not(':checkbox, [type="hidden"], [type="password"]');
      function update(field) {
        var el = $(field);
        var row = el.closest('.form-row');
        row.find('.sf-env-value').remove();
        var wanted = names(el.val());
        if (!wanted.length) return;
        var line = $('<div class="sf-env-value" style="margin: 4px 0 0 104px; font-size: 0.9em; color: var(--red-ui-secondary-text-color, #666)"></div>').appendTo(row);
        line.text(t('env.loading'));
        $.ajax({ url: 'spotfusion/editor/env', data: { names: wanted.join(',') }, dataType: 'json', timeout: 10000 })
          .done(function (reply) {
            var values = (reply && reply.values) || {};
            line.text(
              wanted
                .map(function (n) {
                  return describe(n, values[n]);
                })
                .join(' · ')
            );
          })
          .fail(function (xhr) {
            line.text(t('env.failed', { status: xhr.status }));
          });
      }
      fields.each(function () {
        update(this);
        var f = this;
        $(this).on('change.sfenv', function () {
          update(f);
        });
      });
    }
  };
  window.SpotFusionEnv = api;
})();
