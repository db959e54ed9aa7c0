export { CODEC_VERSION, decode, encode, tryDecode, type DecodeResult } from './canonical';
export {
  array,
  bigint,
  biguint,
  bool,
  bytes,
  DEFAULT_MAX_LENGTH,
  enumeration,
  fixedBytes,
  int,
  optional,
  record,
  string,
  taggedUnion,
  uint,
  type Codec,
  type Infer,
  type RecordOf,
  type UnionOf,
} from './codecs';
export { DecodeError, EncodeError, type DecodeErrorCode, type EncodeErrorCode } from './errors';
export { Reader, Writer } from './io';
