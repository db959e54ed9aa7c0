export { fromHex, utf8 } from '../src/bytes';
export { SMALL_ORDER_ENCODINGS as SMALL_ORDER_HEX } from '../src/signature/strict';
