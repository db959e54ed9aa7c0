// @bftx/streamlet: The Streamlet BFT consensus protocol (Chan and Shi) behind the bftx Protocol interface.
export {};
