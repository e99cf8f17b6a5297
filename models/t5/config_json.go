package t5

// HFConfigJSON returns c as the config.json of a transformers
// T5EncoderModel (the fields checkConfigJSON reads, plus the T5 v1.1
// settings of google/t5-v1_1-xxl's config: gated GELU with the tanh
// approximation, untied embeddings, pad 0 and </s> 1): what a diffusers
// text_encoder_2/ folder holds next to the weights.
func (c Config) HFConfigJSON() map[string]any {
	return map[string]any{
		"architectures":                   []string{"T5EncoderModel"},
		"model_type":                      "t5",
		"vocab_size":                      c.Vocab,
		"d_model":                         c.DModel,
		"d_kv":                            c.DKV,
		"d_ff":                            c.DFF,
		"num_layers":                      c.Layers,
		"num_decoder_layers":              c.Layers,
		"num_heads":                       c.Heads,
		"relative_attention_num_buckets":  c.Buckets,
		"relative_attention_max_distance": c.MaxDistance,
		"layer_norm_epsilon":              c.Eps,
		"feed_forward_proj":               "gated-gelu",
		"dense_act_fn":                    "gelu_new",
		"is_gated_act":                    true,
		"is_encoder_decoder":              true,
		"tie_word_embeddings":             false,
		"dropout_rate":                    0.0,
		"initializer_factor":              1.0,
		"pad_token_id":                    0,
		"eos_token_id":                    1,
		"decoder_start_token_id":          0,
	}
}
