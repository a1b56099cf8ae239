// Imported first by the process entries (main.ts, cli-main.ts). In the package, whose package.json sits
// beside the bundled entry, a Node that cannot load its compiled SQLite module stops here, saying why and
// what to do, before anything loads the module. In the repository there is no such record: npm ci built
// better-sqlite3 for the Node at hand.
import path from 'node:path';
import { packagedNativeAbiMismatch } from './native-abi';

const mismatch = packagedNativeAbiMismatch(path.join(__dirname, 'package.json'));
if (mismatch) {
  process.stderr.write(`ferry: ${mismatch}\n`);
  process.exit(1);
}
