// Package clip is the CLIP text side of Stable Diffusion: the byte-level BPE
// tokenizer, the A1111 prompt-weighting syntax, and the CLIP text
// transformer that turns token ids into the UNet's cross-attention context.
//
// # Tokenizer (tokenizer.go, clean.go, pretokenize.go, bpe.go)
//
// Encode follows Hugging Face CLIPTokenizer (slow, with ftfy installed):
//
//	text → CleanText (ftfy-like fixes, NFC) → collapse whitespace, strip → lower()
//	     → pre-tokenise with <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+
//	     → UTF-8 bytes mapped by bytes_to_unicode → BPE (lowest merge rank first; the last
//	       symbol of a piece carries "</w>") → ids
//
// Window turns ids into one model input: [BOS] + ids[:75] + [EOS], padded
// to 77 with a pad id (SD1 and SDXL's CLIP-L pad with EOS = 49407, SDXL's
// OpenCLIP bigG pads with 0).
//
// # Prompt weighting (prompt.go, chunks.go)
//
// ParsePrompt implements AUTOMATIC1111's emphasis syntax:
//
//	(text)      weight × 1.1          ((text))  × 1.21
//	(text:1.3)  weight × 1.3          [text]    ÷ 1.1
//	\( \) \[ \] \\  literal characters; a lone "\" is dropped
//	BREAK       (upper case, a word of its own) ends the current 75-token chunk
//
// Brackets multiply the weights of everything parsed since they opened.
// A ")" or "]" with no open bracket of its kind is literal text, a
// "(text:1.3)" weight without an open "(" is literal text, and brackets
// still open at the end apply their ×1.1 / ÷1.1 to the rest of the prompt
// (all as A1111's parse_prompt_attention). Neighbouring fragments with equal
// weights are merged. "{...}" (NovelAI) and prompt editing "[a:b:0.5]" are
// not interpreted: braces are literal, and "[a:b:0.5]" weights "a:b:0.5" by
// ÷1.1 as A1111's attention parser alone would.
//
// Chunks tokenises each fragment on its own and packs the tokens into
// 75-token chunks, each encoded as its own 77-token window and the hidden
// states concatenated along the tokens ([1, 77·chunks, D]). SplitA1111
// (the default) reproduces A1111's comma back-tracking: when a chunk is full
// and the last comma lies within the last 20 tokens, the tokens after that
// comma move to the next chunk. SplitPlain cuts every 75 tokens (ComfyUI).
// Weights are applied as A1111's "Original" emphasis: per chunk, every
// token's hidden vector is multiplied by its weight, then the whole chunk
// [1, 77, D] is rescaled so its mean equals the mean before weighting.
// Raw mode (EncodeOptions.Raw) tokenises the text literally in a single
// window truncated to 75 tokens — exactly what diffusers and the golden
// fixtures do.
//
// # Text transformer (config.go, model.go, load.go, openclip.go, encoder.go)
//
// TextModel is HF CLIPTextModel: h₀ = token_embedding[ids] + position_embedding,
// then per layer (pre-LN): h += out_proj(attn_causal(LN1(h))); h += fc2(act(fc1(LN2(h)))),
// act = quick_gelu x·σ(1.702x) (CLIP-L) or exact gelu (OpenCLIP bigG), and
// final_layer_norm. Forward returns every hidden state (h₀…h_L, before the
// final LN), Last = final_layer_norm(h_L), and Pooled = Last at the first
// position of the largest id (the first EOS); TextEmbeds = Projection(Pooled)
// when the checkpoint has a text projection (SDXL bigG).
//
// "CLIP skip" n (SkipState) is final_layer_norm(h_{L+1−n}) as in A1111 and
// ComfyUI: 1 = last layer, 2 = penultimate. SDXL instead takes h_{L−1}
// without the final norm (Encoder.NoFinalNorm, clip skip 2).
//
// Weights load from HF CLIPTextModel keys ("text_model.…", diffusers
// text_encoder/ with config.json), from the SD1 single-file layout
// ("cond_stage_model.transformer.text_model.…"), from SDXL's single file
// (CLIP-L at "conditioner.embedders.0.transformer.text_model.…", bigG in
// OpenCLIP layout at "conditioner.embedders.1.model.…", LoadOpenCLIPTextModel),
// and from a stand-alone text-encoder file that replaces a checkpoint's
// encoder (LoadReplacement, the engine's --clip-l). Without a config.json
// the sizes come from the tensor shapes; the head count comes from
// LoadOptions.Heads, else from the known widths (768 → 12, 1024 → 16,
// 1280 → 20), else hidden/64.
//
// Dependency: golang.org/x/text/unicode/norm (NFC/NFKC) for text cleaning.
package clip
