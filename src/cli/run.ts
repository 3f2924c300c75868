// Entry for running the CLI straight from TypeScript (`node --import tsx src/cli/run.ts …`) and from dist.
import { main } from './main.js';
await main(process.argv);
