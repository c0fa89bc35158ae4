// A child process that sends fuzzed requests (test/fuzz/http-gen) to an agent for a while:
// `node dist/bench/fuzz-load.js <port> <seconds> <concurrency> <seed>`. Prints the count sent.
import { generate, send } from '../test/fuzz/http-gen.js';
import { Rng } from '../test/fuzz/gen.js';

const [port, seconds, concurrency, seed] = process.argv.slice(2).map(Number) as [number, number, number, number];
const r = new Rng(seed);
const until = Date.now() + seconds * 1000;
let sent = 0;
let n = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (Date.now() < until) {
      await send(port, generate(r), ++n).catch(() => undefined);
      sent++;
    }
  }),
);
console.log(String(sent));
