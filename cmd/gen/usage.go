package main

const usageText = `usage:
  gen [flags]                      generate images (Stable Diffusion 1.x and SDXL)
  gen tokens [--tokenizer DIR | --model PATH] [--raw] -p TEXT
                                   print the first 77-token window's ids as a JSON array
  gen text-embed --model PATH [--tokenizer DIR] [--clip-skip N] [--clip-l FILE] [--raw] -p TEXT -o FILE.safetensors
                                   write the CLIP hidden states (hidden [1,77·chunks,d]) and pooled output (pooled [1,d])
  gen bench --arch sd1|sdxl [-W 512 -H 512 --steps 2 --cfg-scale 7 --weights f16|bf16|f32 --threads N --precision fp32|bf16]
  gen bench --model PATH [--norm-groups N --unet-head-dim N] [...]
                                   time the stages with random weights of SD1.5's or SDXL base's shapes (default
                                   512x512 for sd1, 1024x1024 for sdxl), or a real SD1/SDXL checkpoint, on random
                                   text conditioning; prints one block: per-stage times, s/step, the UNet's GFLOP
                                   per pass and % of the FMA peak (asm.PeakFMA measured in-process on the same
                                   threads), weights dtype, threads, peak RSS
  gen trace-plot TRACE.safetensors -o FILE.png|.svg [--overwrite]
                                   charts of a --trace file: per model call ‖cond−uncond‖, ‖guided−cond‖,
                                   cos(cond, uncond), the guidance share of the update, and the arrow picture
                                   (uncond at 0, cond on the x axis, guided); the numbers also go to FILE.csv
  gen models                       registry names, download sizes and what the Hugging Face cache already holds
  gen pull NAME|OWNER/REPO|OWNER/REPO/FILE.safetensors [--quiet]
                                   download into the Hugging Face cache without generating; print the local paths
  gen serve [--listen 127.0.0.1:7860] [--models DIR] [--model NAME|PATH] [--nats URL] [--api-key KEY] [--workers N]
            [--queue-limit N] [--state DIR] [--tokenizer DIR] [model flags as for generate]
                                   A1111 (/sdapi/v1/...), OpenAI (/v1/images/generations) and /jobs APIs; without
                                   --nats an embedded NATS JetStream queue (store under --state) and N workers
  gen worker --nats URL [--models DIR] [--model PATH] [--workers N] [model flags]
                                   workers taking jobs from the queue of gen serve --nats
  gen sweep [gen flags] --cfg-scale 1,3,5,7 [-n "" -n "lowres, bad anatomy"] [--guidance-rule cfg,apg]
            [--steps A,B] [--sampler A,B] [--scheduler A,B] [--clip-l FILE,FILE] [--guidance A,B]
            [--batch-size 4] [--yes] -o sweep.png
                                   one seed, a grid over one or two settings (a comma list, or -n repeated):
                                   a captioned contact sheet plus each cell's PNG (sweep-r1-c2.png), identical
                                   to gen's for those settings; cells run --batch-size at a time as one network
                                   batch; more than 64 cells needs --yes
  gen convert --model FLUX.safetensors [--vae ae.safetensors --clip-l FILE --t5xxl FILE --t5-tokenizer FILE|DIR
              --tokenizer DIR --text-heads N --max-shard-size 10GB] -o FOLDER [--overwrite]
                                   write a Flux.1 model kept as single files (BFL or ComfyUI, also all-in-one) as a
                                   diffusers FluxPipeline folder, weights in their stored dtype (Flux only)
  gen help

generate flags:
  -m, --model PATH|NAME       .safetensors checkpoint (original single-file layout) or diffusers folder; SD 1.x or SDXL;
                              or a registry name (gen models: sd15, sdxl, ...), OWNER/REPO[@REV] (a diffusers repository)
                              or OWNER/REPO/PATH/FILE.safetensors, downloaded from the Hugging Face Hub on first use into
                              its cache ($HF_HUB_CACHE or $HF_HOME/hub; HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE=1 honoured)
      --recommended           use the model card's settings of a registry model (steps, cfg, sampler, size, negative
                              prompt) where not given on the command line; without it they are printed when they differ
  -p, --prompt TEXT           prompt; A1111 syntax: (word), (word:1.3), [word], BREAK; long prompts are chunked
  -n, --negative-prompt TEXT  negative prompt ("" encodes the empty string)
  -s, --seed N                seed (default random; always printed and saved in the PNG); image i uses seed+i
      --steps N               sampling steps (default 20)
      --cfg-scale F           guidance scale (default 8; 1 skips the unconditional pass)
      --sampler NAME          euler, euler_ancestral (euler_a), heun, dpmpp_2m (dpm++2m), ddim, lcm,
                              euler_cfg_pp, euler_ancestral_cfg_pp (CFG++; use a low --cfg-scale, ~1-2) (default euler)
      --scheduler NAME        normal (discrete), karras, exponential, simple, sgm_uniform, ddim_uniform (default normal)
  -W, --width N, -H, --height N   image size, multiples of 8 (default 512x512; 1024x1024 for SDXL)
      --clip-skip N           1 = last CLIP layer, 2 = penultimate (A1111 "Clip skip"; SDXL's default is 2)
      --clip-l FILE           replacement CLIP-L text encoder (HF CLIPTextModel .safetensors)
      --tokenizer DIR         folder with vocab.json + merges.txt, or openai's bpe_simple_vocab_16e6.txt.gz; once given
                              it is cached (see "Where to get the tokenizer")
      --guidance-rescale F    RescaleCFG multiplier 0..1 (default 0)
      --guidance-rule NAME    cfg (default), apg (adaptive projected guidance), perpneg (Perp-Neg: the negative
                              prompt's part perpendicular to the prompt, both relative to the empty prompt)
      --apg-eta F, --apg-momentum F, --apg-norm-threshold F
                              APG's parallel scale (-10..10, default 1), momentum (-1..1, default 0) and norm
                              threshold (0..50, 0 = off, default 5); ComfyUI's APG node arithmetic
      --perpneg-scale F       Perp-Neg's neg_scale (default 1)
      --cfg-interval LO,HI    guide only for noise levels sigma in [LO, HI]; elsewhere cond alone (HI may be inf)
      --cfg-schedule NAME     constant (default), linear, cosine: the scale goes from --cfg-scale at the first step
      --cfg-scale-end F       to this at the last
      --arch NAME             auto (default), sd1, sdxl, flux; a forced family must match the file
  -b, --batch-count N         images to generate; files get -1, -2, … before the extension
  -t, --threads N             worker threads (default: all cores)
      --precision P           fp32 (default, exact) or bf16: matrix products, convolutions and attention's two
                              products round both operands to bfloat16 and accumulate in fp32 (VDPBF16PS where
                              the CPU has AVX512-BF16)
  -o, --output FILE.png       output image (default output.png); .png, or .jpg/.jpeg for JPEG (quality 95, the
                              parameters in its comment); never overwritten without --overwrite
      --overwrite             replace existing regular files (never a device, FIFO, socket or folder; a symlink is
                              written through; the replaced file keeps its mode)
      --save-latent FILE      write the final latent as tensor "latent" [1,4,H/8,W/8] float32
      --trace FILE            write per model call i: x.i, sigma.i, cond.i, uncond.i (not at cfg 1), empty.i (perpneg),
                              guided.i, and sigmas; draw it with gen trace-plot
  -i, --init-img FILE         image-to-image from this PNG/JPEG (its size sets -W/-H; not resized)
      --strength F            img2img denoising strength in (0, 1] (default 0.75)
      --raw                   tokenise prompts literally (no weighting, one 77-token window)
      --norm-groups N, --text-heads N   hyper-parameters of a non-standard single-file model (defaults 32, 12)
      --text-heads-2 N, --unet-head-dim N   the same for SDXL's bigG tower (default width/64) and the UNet
                              (default 8 heads for SD1, 64-wide heads for SDXL)
      --quiet                 no progress on stderr
      --no-nan-check          skip the NaN/Inf checks (weights at load, latent each step, decoded image)
  -v, --verbose               debug messages on stderr (e.g. checkpoint tensors that no component reads)

The defaults (euler, normal, 20 steps, cfg 8, 512x512) are ComfyUI's KSampler's, so a seed gives ComfyUI's image.
SDXL: both text towers encode the prompt, the image size is the size conditioning (no crop), and a negative
prompt "" is the encoding of "" as in ComfyUI's CLIPTextEncode.
The PNG "parameters" text uses A1111's names (Sampler: Euler a, Schedule type: Karras, ...).

Where to get the tokenizer: the tokenizer/ folder (vocab.json, merges.txt) of the Hugging Face repository
stable-diffusion-v1-5/stable-diffusion-v1-5, or openai/clip-vit-large-patch14. Without --tokenizer, gen looks in
the diffusers model folder's tokenizer/, then next to a single-file model (tokenizer/ or bpe_simple_vocab_16e6.txt.gz),
then in the cache: $GODIFFUSION_CACHE/clip-tokenizer, or the user cache folder's godiffusion/clip-tokenizer
(~/.cache/godiffusion/clip-tokenizer on Linux). A --tokenizer that loads is copied there for later runs.
Every output is proven writable before any model loads; interrupted runs (SIGINT/SIGTERM) leave no file.
Exit status: 0 success, 1 failure while running, 2 bad input (one line on stderr, no file written),
3 a bug in gen (please report it; -v shows the stack), 130 interrupted.
`
