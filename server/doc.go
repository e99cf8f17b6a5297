// Package server is gen serve and gen worker: AUTOMATIC1111's web API
// (/sdapi/v1/...), the OpenAI images API (/v1/images/generations) and an
// asynchronous job API (/jobs) in front of a durable job queue on NATS
// JetStream, with workers that may run on many machines (issue #13).
//
//	clients (Open WebUI, Krita, openai SDK, curl)
//	         │ HTTP (127.0.0.1 unless --api-key)
//	         ▼
//	┌──────────────┐  publish JobSpec    ┌────────────────────────────┐
//	│ Server (API) │ ──────────────────▶ │ NATS JetStream             │
//	│ http.go ...  │ ◀── watch job state │  stream GEN_JOBS (work q.) │
//	└──────────────┘     read images     │  KV     GEN_STATE          │
//	                                     │  object GEN_IMAGES         │
//	                                     └────────────────────────────┘
//	                                        ▲ pull, in-progress acks, ack
//	                      ┌─────────────────┼─────────────────┐
//	                  Worker + Engine   Worker + Engine   Worker + Engine
//	                  (this process)    (machine B)       (machine C)
//
// A job is created by Store.Submit: its record (Job) is written to the KV
// bucket in state "queued" and its JobSpec published to the work-queue
// stream, with the job ID as the message ID so that a retried submission is
// not queued twice. A Worker pulls one message at a time, marks the job
// "running", renders its images one by one with its Engine (reporting every
// sampling step to the KV record) and stores image i as object "<id>/<i>.png"
// before it acknowledges the message. While it works it sends in-progress
// acks; a worker that dies stops sending them and JetStream redelivers the
// message to another worker after the ack wait. Images already stored are
// not rendered again, so a retried job stores each image once.
//
// The Engine interface is all the queue knows of image generation: tests
// run the whole server with a fast fake engine, and PipelineEngine
// (pipeline.go) runs the real SD1/SDXL pipelines.
//
// Without an external NATS server, StartEmbedded runs one in-process with
// its file store under the user's state folder, so queued jobs survive a
// restart.
package server
