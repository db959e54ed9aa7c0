// @bftx/streamlet: the Streamlet protocol behind the bftx Protocol interface.
export { streamlet } from './definition';
export { decodeStreamletMessage, encodeStreamletMessage, type StreamletMessage } from './messages';
export { Streamlet, streamletLeader, type StreamletOptions } from './streamlet';
