'use strict';
// Polls grpc.health.v1.Health/Check (learnt through reflection) until SERVING: exits 0 then, 1 after the timeout.
// Usage: node lib/wait-serving.js HOST:PORT [SECONDS] [SERVER_PID]: gives up at once when that process is gone.
const { ReflectionClient } = require('./client');

const [address, seconds = '60', pid] = process.argv.slice(2);
const alive = () => { if (!pid) return true; try { process.kill(Number(pid), 0); return true; } catch { return false; } };
const until = Date.now() + Number(seconds) * 1000;

(async () => {
  let last = 'no answer';
  while (Date.now() < until) {
    if (!alive()) { console.error(`the server (pid ${pid}) has exited`); return 1; }
    const client = new ReflectionClient(address);
    try {
      await client.loadSymbol('grpc.health.v1.Health');
      const res = await client.unary('grpc.health.v1.Health/Check', {}, { deadline: Date.now() + 2000 });
      if (res.status === 'SERVING') { console.log(`${address} is SERVING`); return 0; }
      last = res.status;
    } catch (e) {
      last = e.details || e.message;
    } finally {
      client.close();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  console.error(`${address} not SERVING after ${seconds} s: ${last}`);
  return 1;
})().then((code) => process.exit(code));
