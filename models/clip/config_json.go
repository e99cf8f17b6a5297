package clip

// HFConfigJSON returns c as the config.json of a transformers
// CLIPTextModel (the fields ReadConfig reads, plus the token ids and
// projection width of openai/clip-vit-large-patch14's text config, the
// text_encoder/ of FLUX.1-dev): what a diffusers text_encoder/ folder
// holds next to model.safetensors.
func (c Config) HFConfigJSON() map[string]any {
	return map[string]any{
		"architectures":           []string{"CLIPTextModel"},
		"model_type":              "clip_text_model",
		"vocab_size":              c.VocabSize,
		"max_position_embeddings": c.MaxPositions,
		"hidden_size":             c.Hidden,
		"num_hidden_layers":       c.Layers,
		"num_attention_heads":     c.Heads,
		"intermediate_size":       c.Intermediate,
		"hidden_act":              c.Act,
		"layer_norm_eps":          c.Eps,
		"projection_dim":          c.Hidden,
		"bos_token_id":            0,
		"eos_token_id":            2,
		"pad_token_id":            1,
		"attention_dropout":       0.0,
		"dropout":                 0.0,
		"initializer_factor":      1.0,
		"initializer_range":       0.02,
	}
}
