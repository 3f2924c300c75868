// Runs the CLI from source under tsx (local iteration); the test suite spawns bin/guestkit.js.
import { main } from '../../../src/cli/main.js';
await main(process.argv);
