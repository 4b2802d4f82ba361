/* global window, RED */
// Teach view, endpoints: the admin API of nodes/shared/teach-admin.ts (grab, upload, frame, try, reference),
// with the editor's login token when adminAuth is on. Every call resolves to the server's JSON or rejects with
// its reason.
(function () {
  'use strict';
  var BASE = 'spotfusion/teach/';

  function headers(extra) {
    var h = { 'Node-RED-API-Version': 'v2' };
    var tokens = RED.settings.get('auth-tokens');
    if (tokens && tokens.access_token) h.Authorization = 'Bearer ' + tokens.access_token;
    Object.keys(extra || {}).forEach(function (k) {
      h[k] = extra[k];
    });
    return h;
  }

  function url(path) {
    return (RED.settings.apiRootUrl || '') + BASE + path;
  }

  function call(method, path, body, contentType) {
    var init = { method: method, headers: headers(contentType ? { 'Content-Type': contentType } : {}), credentials: 'same-origin' };
    if (body !== undefined) init.body = contentType === 'application/json' ? JSON.stringify(body) : body;
    return fetch(url(path), init).then(function (res) {
      var type = res.headers.get('Content-Type') || '';
      if (type.indexOf('application/json') === 0) {
        return res.json().then(function (reply) {
          if (!res.ok || reply.ok === false) throw new Error(reply.error || method + ' ' + path + ': HTTP ' + res.status);
          return reply;
        });
      }
      if (!res.ok) {
        return res.text().then(function (text) {
          throw new Error(method + ' ' + path + ': HTTP ' + res.status + (text ? ' ' + text.slice(0, 200) : ''));
        });
      }
      return res.blob();
    });
  }

  var T = (window.SpotFusionTeach = window.SpotFusionTeach || {});
  T.client = {
    /** a frame grabbed now from the deployed camera config node `id` */
    grab: function (id) {
      return call('POST', 'grab/' + encodeURIComponent(id), {}, 'application/json');
    },
    /** the last frame archived by the deployed result-publish node `id` */
    archived: function (id) {
      return call('POST', 'archived/' + encodeURIComponent(id), {}, 'application/json');
    },
    /** a file (Blob) as a frame: format 'image' (PNG, JPEG, TIFF) or 'mono8' with width and height */
    upload: function (blob, format, width, height) {
      var q = '?format=' + encodeURIComponent(format) + (format === 'mono8' ? '&width=' + encodeURIComponent(width) + '&height=' + encodeURIComponent(height) : '');
      return call('POST', 'upload' + q, blob, 'application/octet-stream');
    },
    /** the kept frame as PNG (a Blob) */
    frame: function (frameId) {
      return call('GET', 'frame/' + encodeURIComponent(frameId));
    },
    /**
     * the recipe (JSON text of the set, program) on the kept frame with the deployed model config `model`, judged
     * with `rules` (an enrich node's verdict rules, JSON text; default rules when absent)
     */
    tryIt: function (frameId, recipes, program, model, rules) {
      return call('POST', 'try', { frame: frameId, recipes: recipes, program: program, model: model, rules: rules || undefined }, 'application/json');
    },
    /** the part reference cut from the kept (golden) frame: a locate section */
    reference: function (frameId, regions, opts) {
      var body = { frame: frameId, regions: regions };
      Object.keys(opts || {}).forEach(function (k) {
        body[k] = opts[k];
      });
      return call('POST', 'reference', body, 'application/json');
    }
  };
})();
