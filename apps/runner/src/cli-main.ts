// The command line's process entry, apart from cli.ts so that bundling (tools/package) keeps it an entry.
import './native-abi-check'; // first: before anything loads the compiled SQLite module
import { runCli } from './cli';

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
