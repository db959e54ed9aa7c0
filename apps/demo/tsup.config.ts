import { app } from '../../tools/tsup.app.mjs';

export default app();
