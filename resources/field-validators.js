/* global $, window */
// Editor code shared by the config nodes (loaded before their registerType): validators for required fields that depend on a select (the PLC
// protocol, the camera source, the recipe source), host names and addresses, and inline JSON. Node-RED shows
// an invalid field with a red border and the message as its tooltip, marks the node invalid and asks before a
// Deploy. A whole-value ${VAR} is always accepted (Node-RED resolves it at run time).
(function () {
  'use strict';
  var ENV = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
  var HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

  /** The select's value: the dialog's while it is open, else the node's. */
  function current(node, field) {
    var input = $('#node-config-input-' + field + ', #node-input-' + field).filter(':visible');
    return input.length ? input.val() : node[field];
  }

  function invalidIPv4(v) {
    var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
    if (!m) return /^[\d.]+$/.test(v) ? 'not an IPv4 address' : undefined;
    for (var i = 1; i <= 4; i++) if (Number(m[i]) > 255) return 'IPv4 parts go up to 255, got ' + m[i];
    return undefined;
  }

  // Node-RED takes a returned message as "invalid, because…" only from a validator declared with two
  // parameters (value, options); every validator here has both.
  /**
   * Required while `field` holds one of `values` (see api.requiredWhen); a value given and not a ${VAR} is then
   * handed to check(trimmed value), which answers true or the message.
   */
  function checkedWhen(field, values, what, check) {
    var required = api.requiredWhen(field, values, what);
    return function (v, opt) {
      if (!api.applies(this, field, values)) return true; // a field the chosen source does not use
      var r = required.call(this, v, opt);
      if (r !== true) return r;
      var s = typeof v === 'string' ? v.trim() : '';
      return s === '' || api.isEnv(s) ? true : check(s);
    };
  }

  var api = {
    isEnv: function (v) {
      return typeof v === 'string' && ENV.test(v.trim());
    },
    /** Whether the select `field` holds one of `values` now (a ${VAR} may be any of them). */
    applies: function (node, field, values) {
      var sel = current(node, field);
      return api.isEnv(sel) || values.indexOf(sel) >= 0;
    },
    /** Required while the select `field` holds one of `values` (not under a ${VAR}: which one is unknown). */
    requiredWhen: function (field, values, what) {
      return function (v, opt) {
        void opt;
        if (values.indexOf(current(this, field)) < 0) return true;
        if (typeof v === 'string' && v.trim() !== '') return true;
        return what + ' is required';
      };
    },
    /** A host name, an IPv4 or IPv6 address, or ${VAR}; required while `field` holds one of `values`. */
    hostWhen: function (field, values, what) {
      return checkedWhen(field, values, what, function (s) {
        var bad = invalidIPv4(s);
        if (bad) return what + ': ' + bad;
        if (s.indexOf(':') >= 0) return /^[0-9A-Fa-f:.]+$/.test(s) ? true : what + ': not an IPv6 address';
        return HOSTNAME.test(s) ? true : what + ': not a host name or address';
      });
    },
    /** A URL with one of the schemes, required while `field` holds one of `values`. */
    urlWhen: function (field, values, schemes, what) {
      return checkedWhen(field, values, what, function (s) {
        var scheme = /^([a-z][a-z0-9+.-]*):\/\/[^/\s]+/i.exec(s);
        if (!scheme || schemes.indexOf(scheme[1].toLowerCase()) < 0) return what + ' must be a ' + schemes.join(' or ') + ' URL';
        return true;
      });
    },
    /** 'auto' (also empty) or an integer lo…hi, or ${VAR}, while `field` holds one of `values`. */
    autoOrIntegerWhen: function (field, values, lo, hi, what) {
      return function (v, opt) {
        void opt;
        if (!api.applies(this, field, values)) return true;
        var s = String(v === undefined || v === null ? '' : v).trim();
        if (s === '' || s.toLowerCase() === 'auto' || api.isEnv(s)) return true;
        var n = Number(s);
        return Number.isInteger(n) && n >= lo && n <= hi ? true : what + ' must be auto or an integer ' + lo + '…' + hi;
      };
    },
    /** JSON text whose top level has `key` as an array, while `field` holds one of `values`. */
    jsonWhen: function (field, values, key, what) {
      return function (v, opt) {
        void opt;
        if (!api.applies(this, field, values)) return true;
        try {
          var j = JSON.parse(v);
          return j && Array.isArray(j[key]) ? true : what + ': needs a "' + key + '" list';
        } catch (err) {
          return what + ': not valid JSON (' + err.message + ')';
        }
      };
    },
    /**
     * A recipe set (JSON text) while `field` holds one of `values`: valid JSON with a non-empty "recipes" list, no
     * empty recipe, no spot id twice in a recipe, no ROI outside the sensor. The sensor is the recipe's locate
     * frame, else the dialog's sensor width and height (frameWidth, frameHeight; the teach view fills them from
     * the frame it shows). The spot checks are the teach view's (resources/teach/geometry.js).
     */
    recipesWhen: function (field, values, what) {
      var json = api.jsonWhen(field, values, 'recipes', what);
      return function (v, opt) {
        var r = json.call(this, v, opt);
        if (r !== true || !api.applies(this, field, values)) return r;
        var geometry = window.SpotFusionTeach && window.SpotFusionTeach.geometry;
        if (!geometry) return true;
        var w = Number(current(this, 'frameWidth'));
        var h = Number(current(this, 'frameHeight'));
        var problems = geometry.recipeProblems(JSON.parse(v), w > 0 && h > 0 ? { width: w, height: h } : undefined);
        if (!problems.length) return true;
        return what + ': ' + problems[0].message + (problems.length > 1 ? ' (+' + (problems.length - 1) + ')' : '');
      };
    },
    /**
     * A select bound to ${VAR} (oneditprepare): Node-RED cannot select a value that is no option, so the select
     * showed blank and saved nothing. Adds the variable as an option, named as coming from the environment, and
     * selects it; the dialog then shows every field that any value of the variable may need.
     */
    envSelect: function (select, value) {
      if (!api.isEnv(value)) return false;
      var v = value.trim();
      var s = $(select);
      if (s.find('option').filter(function () { return $(this).val() === v; }).length === 0) {
        $('<option/>').val(v).text(v + ' (from the environment)').addClass('sf-env-option').appendTo(s);
      }
      s.val(v);
      return true;
    }
  };
  window.SpotFusionValidate = api;
})();
