'use strict';
// ethernet-ip 1.2.5 (behind node-red-contrib-cip-ethernet-ip) has its port fixed at 44818: load a fresh copy with
// the port replaced by the simulator's, so it talks to 127.0.0.1:<sim port> only.
const path = require('node:path');

function loadEthernetIp(port) {
  const root = path.dirname(require.resolve('ethernet-ip/package.json'));
  for (const k of Object.keys(require.cache)) if (k.startsWith(root + path.sep)) delete require.cache[k];
  require(path.join(root, 'src', 'config.js')).EIP_PORT = port;
  return require(root);
}

module.exports = { loadEthernetIp };
