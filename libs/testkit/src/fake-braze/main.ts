// `node libs/testkit/dist/fake-braze/main.js --workspace NAME:REST_API_KEY [--port 9998]` (see cli.ts).
import { runFakeBrazeCli } from './cli';

void runFakeBrazeCli(process.argv.slice(2), { out: console.log, err: console.error }).then((code) => {
  process.exitCode = code;
});
