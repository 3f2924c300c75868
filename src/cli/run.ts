// Entry for running the CLI straight from TypeScript (`node --import tsx src/cli/run.ts …`) and from dist.
import { launch } from './launch.js';
await launch(process.argv);
