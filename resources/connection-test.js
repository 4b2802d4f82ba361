/* global $, window, RED */
// "Test connection" in the config dialogs (PLC, camera, Redis, AMQP, MQTT, PostgreSQL): posts the dialog's
// current settings and credentials (a stored password the dialog did not change goes as Node-RED's
// placeholder, which the server replaces with the deployed node's) to POST spotfusion/editor/test/<type>, which
// opens one connection with the package's own client, bounded in time, and closes it again. The texts live in
// plc-config's locale (plc-config.tools.*), one place for every dialog.
(function () {
  'use strict';
  var NS = '@spotfusion/node-red-spotfusion-edge/plc-config:plc-config.tools.';
  /** failure codes the server gives that have a hint of what to check */
  var HINTS = ['ECONNREFUSED', 'AUTH', 'TIMEOUT', 'CONFIG'];
  function t(key, opts) {
    return RED._(NS + key, opts);
  }

  /** The form of the config dialog open now (a config dialog opens in its own form, over a node's #dialog-form). */
  function configForm() {
    return $('#node-config-dialog-edit-form');
  }

  /** Every field of the open config dialog by property name: checkboxes as booleans, the rest as text. */
  function dialogValues(prefix) {
    var out = {};
    configForm().find('[id^="' + prefix + '"]').each(function () {
      var el = $(this);
      var key = this.id.slice(prefix.length);
      if (!key || /[^A-Za-z0-9_]/.test(key)) return; // helper elements (editors, lists)
      out[key] = el.is(':checkbox') ? el.prop('checked') : el.val();
    });
    return out;
  }

  var api = {
    dialogValues: dialogValues,
    /**
     * What the endpoints take for the open config dialog of `node`: { id, config, credentials }, the credential
     * fields (credentialKeys) moved out of config.
     */
    request: function (node, credentialKeys) {
      var config = dialogValues('node-config-input-');
      var credentials = {};
      (credentialKeys || []).forEach(function (k) {
        if (k in config) {
          credentials[k] = config[k];
          delete config[k];
        }
      });
      return { id: node.id, config: config, credentials: credentials };
    },
    /** Post `body` to an editor endpoint; done(err, reply) with the server's reason for any failure. */
    post: function (path, body, done) {
      $.ajax({ url: 'spotfusion/editor/' + path, method: 'POST', contentType: 'application/json', data: JSON.stringify(body), dataType: 'json', timeout: 30000 })
        .done(function (reply) {
          done(null, reply);
        })
        .fail(function (xhr, status) {
          var reply = xhr.responseJSON;
          done(new Error(reply && reply.error ? reply.error : t('httpFailed', { status: xhr.status || status })));
        });
    },
    /**
     * oneditprepare of a config node: a row with the Test connection button and the result line, at the end
     * of the dialog. credentialKeys: the node's credential fields.
     */
    add: function (node, type, credentialKeys) {
      var row = $('<div class="form-row sf-connection-test-row"></div>');
      $('<label></label>').appendTo(row);
      var button = $('<button type="button" class="red-ui-button sf-connection-test"></button>')
        .append('<i class="fa fa-plug"></i> ')
        .append($('<span></span>').text(t('test')))
        .appendTo(row);
      var result = $('<div class="sf-connection-test-result" style="margin: 6px 0 0 104px; white-space: pre-wrap; word-break: break-word;"></div>').appendTo(row);
      configForm().append(row);
      button.on('click', function () {
        button.prop('disabled', true);
        result.css('color', '').text(t('testing'));
        api.post('test/' + type, api.request(node, credentialKeys), function (err, reply) {
          button.prop('disabled', false);
          if (err) {
            result.css('color', 'var(--red-ui-text-color-error, #c00)').text(err.message);
          } else if (reply.ok) {
            result
              .css('color', 'var(--red-ui-text-color-success, #2a7)')
              .text(t('ok', { target: reply.target, ms: reply.ms }) + (reply.detail ? '\n' + reply.detail : ''));
          } else {
            var hint = HINTS.indexOf(reply.code) >= 0 ? '\n' + t('hint.' + reply.code) : '';
            var target = reply.target || type;
            // the client's message often starts with the target itself: say it once
            var error = String(reply.error || '');
            if (error.indexOf(target + ': ') === 0) error = error.slice(target.length + 2);
            result.css('color', 'var(--red-ui-text-color-error, #c00)').text(t('failed', { target: target, error: error }) + hint);
          }
        });
      });
      return row;
    }
  };
  window.SpotFusionConnectionTest = api;
})();
