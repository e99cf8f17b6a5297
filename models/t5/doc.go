// Package t5 is the T5 v1.1 text encoder that conditions Flux.1
// (google/t5-v1_1-xxl, Raffel et al. 2020, "Exploring the Limits of
// Transfer Learning with a Unified Text-to-Text Transformer"), and its
// SentencePiece unigram tokenizer.
//
// # Tokenizer (proto.go, charsmap.go, unigram.go, tokenizer_load.go)
//
// LoadTokenizer reads spiece.model (a protobuf ModelProto, parsed here
// field by field) or a Hugging Face tokenizer.json ("Unigram" model), or a
// folder holding either. Encoding follows SentencePiece
// (github.com/google/sentencepiece, normalizer.cc and unigram_model.cc):
//
//	text → normalise: the model's precompiled charsmap (nmt_nfkc: a Darts
//	       double-array trie mapping byte sequences to NFKC replacements),
//	       leading/trailing/repeated spaces dropped, "▁" put in front,
//	       every space written "▁"
//	     → Viterbi over the unigram lattice: the segmentation maximising
//	       Σ log p(piece) (Kudo 2018, "Subword Regularization"); a character
//	       no piece covers is <unk> with score min(score) − 10, and a run of
//	       <unk> is one <unk>
//
// Encode(text, maxLength) gives exactly maxLength ids as BFL's HFEmbedder
// and diffusers' FluxPipeline get them from T5TokenizerFast
// (padding="max_length", truncation=True): the ids cut to maxLength − 1,
// </s> (1) appended, <pad> (0) after; Flux uses 512 for dev and 256 for
// schnell.
//
// # Encoder (encoder.go, position.go, load.go)
//
// With x = shared[ids] (no scaling) and RMS(x) = γ·x/√(mean(x²) + 1e-6)
// (T5LayerNorm: no mean subtraction, no bias), each of the 24 blocks does
//
//	x += O · Attention(Q·RMS(x), K·RMS(x), V·RMS(x))
//	x += Wo · (gelu_tanh(Wi0·RMS(x)) ⊙ Wi1·RMS(x))
//
// where per head Attention = softmax(q·kᵀ + B) · v — no 1/√d scaling — and
// B[i, j] = table[bucket(j − i), h] is the relative position bias of block 0,
// reused by every block (RelativePositionBucket: 32 buckets split between
// the two directions, exact below 8, logarithmic up to 128). The output is
// RMS_final(x), Hugging Face's last_hidden_state. As in BFL's flux and in
// diffusers, no attention mask is used: padding tokens attend and are
// attended to, so the pads change every row of the result.
//
// Weights load from Hugging Face T5EncoderModel keys (shared.weight,
// encoder.block.N.layer.{0,1}.*, encoder.final_layer_norm.weight) — the
// layout of ComfyUI's t5xxl_fp16 / t5xxl_fp8_e4m3fn(_scaled) files and of
// diffusers' text_encoder_2/ folder — under an optional prefix
// (DetectPrefix finds it in all-in-one files). Every size is read from the
// shapes; the weights stay mmapped in their stored dtype.
package t5
