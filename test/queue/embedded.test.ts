import { EmbeddedQueue } from '../../src/queue/embedded/embedded-queue.js';
import { jobQueueContract } from './contract.js';

jobQueueContract({ name: 'embedded', open: async () => ({ queue: new EmbeddedQueue() }) });
