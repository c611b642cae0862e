export { researchRun } from './researchRun.js';
export { experiment } from './experiment.js';
