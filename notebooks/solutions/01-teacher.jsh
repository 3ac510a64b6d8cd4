// Reference solution of the exercise of 01-teacher.ipynb (see 00-number-formats.jsh for the format).

//// 01.1
// GPT-2: per block 2 LayerNorms (4E), c_attn E*3E + 3E, c_proj E*E + E, c_fc E*4E + 4E, c_proj 4E*E + E = 12E^2 + 13E;
// token and position embeddings; the final LayerNorm (2E); the head is tied to the token embeddings
long gpt2Parameters(long vocab, long positions, long width, long layers) {
    return vocab * width + positions * width + layers * (12 * width * width + 13 * width) + 2 * width;
}
Long myParameterCount = gpt2Parameters(modelConfig.vocabSize(), modelConfig.nPositions(), modelConfig.nEmbd(), modelConfig.nLayer());
