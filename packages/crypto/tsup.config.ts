import { library } from '../../tools/tsup.library.mjs';

// @noble/* are ESM-only: ESM keeps them as dependencies, CJS bundles them.
export default library({ bundleInCjs: [/^@noble\//] });
