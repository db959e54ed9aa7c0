import { library } from '../../tools/tsup.library.mjs';

export default library({ entries: { index: 'src/index.ts', testing: 'src/testing/index.ts' } });
