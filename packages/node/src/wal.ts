// The write-ahead log of consensus inputs. A protocol is a deterministic state machine, so the
// inputs it was given, replayed in order into a fresh instance, rebuild its state exactly as it was
// (block tree, votes seen, view, mempool), including every message it signed: a restarted replica
// re-derives rather than re-decides, and cannot contradict what it sent before the crash.
import { codec, decode, encode } from '@bftx/crypto';
import type { ProtocolDefinition, ProtocolInput } from '@bftx/consensus';

const InputRecordCodec = codec.taggedUnion('type', {
  start: { now: codec.uint() },
  message: { from: codec.uint(0xffff), message: codec.bytes(), now: codec.uint() },
  timer: { timer: codec.string(256), now: codec.uint() },
  transactions: { txs: codec.array(codec.bytes()), now: codec.uint() },
});

/** `raw`: the message's bytes as they came off the wire, when the caller has them (saves encoding it again). */
export function encodeInputRecord<M>(protocol: ProtocolDefinition<M>, input: ProtocolInput<M>, raw?: Uint8Array): Uint8Array {
  switch (input.type) {
    case 'message':
      return encode(InputRecordCodec, { type: 'message', from: input.from, message: raw ?? protocol.encodeMessage(input.message), now: input.now });
    case 'transactions':
      return encode(InputRecordCodec, { type: 'transactions', txs: [...input.txs], now: input.now });
    default:
      return encode(InputRecordCodec, input);
  }
}

/** Throws DecodeError on a damaged record. */
export function decodeInputRecord<M>(protocol: ProtocolDefinition<M>, bytes: Uint8Array): ProtocolInput<M> {
  const r = decode(InputRecordCodec, bytes);
  return r.type === 'message' ? { type: 'message', from: r.from, message: protocol.decodeMessage(r.message), now: r.now } : r;
}
