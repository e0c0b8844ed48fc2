// Starting simsearch-lambda --serve-http for the Node.js tests (the browser test and the
// HTTP contract test): a free port, and a gateway that resolves once it serves.
'use strict';
const { spawn } = require('child_process');
const net = require('net');

// A port nothing listens on now.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// Starts `lambdaBin --serve-http 127.0.0.1:PORT` over `indexRoot` and `webRoot`; resolves
// with the child process once it logs that it serves, rejects if it does not in 30 s.
function startGateway(lambdaBin, port, indexRoot, webRoot) {
  return new Promise((resolve, reject) => {
    const child = spawn(lambdaBin, ['--serve-http', `127.0.0.1:${port}`, '--index_root', indexRoot,
      '--web-root', webRoot], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`the gateway did not start in 30 s: ${log}`)), 30000);
    child.stderr.on('data', (d) => {
      log += d;
      if (log.includes('serving ')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!log.includes('serving ')) reject(new Error(`the gateway exited with ${code}: ${log}`));
      else console.log(`note: the gateway exited (${code ?? signal}): ${log.slice(-500)}`);
    });
  });
}

module.exports = { freePort, startGateway };
