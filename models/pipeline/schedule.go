package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/godiffusion/godiffusion/sampling"
)

// schedulerConfig is the part of a diffusers scheduler_config.json that
// defines the model's noise table.
type schedulerConfig struct {
	BetaStart         *float64 `json:"beta_start"`
	BetaEnd           *float64 `json:"beta_end"`
	BetaSchedule      string   `json:"beta_schedule"`
	NumTrainTimesteps int      `json:"num_train_timesteps"`
	PredictionType    string   `json:"prediction_type"`
	TrainedBetas      any      `json:"trained_betas"`
}

// ModelSchedule returns the noise table of the checkpoint at path: SD1's
// (scaled-linear betas 0.00085 → 0.012 over 1000 steps, also SDXL's) for a
// single file, which carries no scheduler config, and for a diffusers folder the table
// its scheduler/scheduler_config.json describes (an error for what this
// pipeline cannot run: v-prediction, explicit trained_betas, unknown beta
// schedules).
func ModelSchedule(path string, diffusers bool) (*sampling.DiscreteSchedule, error) {
	if !diffusers {
		return sampling.SD1Schedule(), nil
	}
	file := filepath.Join(path, "scheduler", "scheduler_config.json")
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return sampling.SD1Schedule(), nil
	} else if err != nil {
		return nil, err
	}
	var c schedulerConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	switch {
	case c.PredictionType != "" && c.PredictionType != "epsilon":
		return nil, fmt.Errorf("%s: prediction_type %q is not supported (this pipeline runs epsilon-prediction models)", file, c.PredictionType)
	case c.TrainedBetas != nil:
		return nil, fmt.Errorf("%s: explicit trained_betas are not supported", file)
	}
	kind := c.BetaSchedule
	if kind == "" {
		kind = sampling.BetaScaledLinear
	}
	beta0, beta1, T := sampling.SDLinearBeta0, sampling.SDLinearBeta1, sampling.SDTimesteps
	if c.BetaStart != nil {
		beta0 = *c.BetaStart
	}
	if c.BetaEnd != nil {
		beta1 = *c.BetaEnd
	}
	if c.NumTrainTimesteps > 0 {
		T = c.NumTrainTimesteps
	}
	if kind == sampling.BetaScaledLinear && beta0 == sampling.SDLinearBeta0 && beta1 == sampling.SDLinearBeta1 && T == sampling.SDTimesteps {
		return sampling.SD1Schedule(), nil
	}
	betas, err := sampling.Betas(kind, T, beta0, beta1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return sampling.NewDiscreteSchedule(sampling.AlphasCumprod(betas)), nil
}
