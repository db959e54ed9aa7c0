import { library } from '../../tools/tsup.library.mjs';

export default library();
