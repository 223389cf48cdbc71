import { runMain } from './main.ts';

runMain();
