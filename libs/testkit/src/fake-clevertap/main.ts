// `node libs/testkit/dist/fake-clevertap/main.js --account ACCOUNT_ID:PASSCODE [--port 9999]` (see cli.ts).
import { runFakeCleverTapCli } from './cli';

void runFakeCleverTapCli(process.argv.slice(2), { out: console.log, err: console.error }).then((code) => {
  process.exitCode = code;
});
