// The command line's process entry, apart from cli.ts so that bundling (tools/package) keeps it an entry.
import { runCli } from './cli';

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
