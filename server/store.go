package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the JetStream resources; every server and worker of one
// deployment uses the same.
const (
	StreamName   = "GEN_JOBS"   // work-queue stream of JobSpecs
	Subject      = "gen.jobs"   // the stream's subject
	ConsumerName = "gen-worker" // the durable pull consumer all workers share
	StateBucket  = "GEN_STATE"  // KV: job.<id> records, cancel.<id> flags, options
	ImageBucket  = "GEN_IMAGES" // object store: <id>/<i>.png, <id>/init
)

// StoreConfig sizes the queue. Zero values take the defaults.
type StoreConfig struct {
	// QueueLimit is the most jobs queued or running at once; Submit
	// beyond it fails with ErrQueueFull. Default 100.
	QueueLimit int
	// AckWait is how long a job may go without an in-progress ack before
	// JetStream gives it to another worker (a dead worker's job waits this
	// long). Workers ack every AckWait/3. Default 30 s.
	AckWait time.Duration
	// MaxDeliver is how many times a job is handed out before it is given
	// up (e.g. a job that kills every worker). Default 5.
	MaxDeliver int
	// Retention is how long job records and images are kept. Default 24 h.
	Retention time.Duration
}

func (c *StoreConfig) defaults() {
	if c.QueueLimit <= 0 {
		c.QueueLimit = 100
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.Retention <= 0 {
		c.Retention = 24 * time.Hour
	}
}

// Errors of Submit and Get.
var (
	ErrQueueFull = errors.New("the job queue is full")
	ErrNotFound  = errors.New("no such job")
)

// Store is one connection to the deployment's JetStream: the job stream,
// the state KV bucket and the image object store.
type Store struct {
	Config  StoreConfig
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  jetstream.Stream
	kv      jetstream.KeyValue
	objects jetstream.ObjectStore
}

// Open connects to the NATS server at url and creates (or updates) the
// stream, consumer, bucket and object store the server and workers share.
func Open(ctx context.Context, url string, cfg StoreConfig) (*Store, error) {
	cfg.defaults()
	nc, err := nats.Connect(url, nats.Name("godiffusion"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("--nats %s: %w", url, err)
	}
	s := &Store{Config: cfg, nc: nc}
	if err := s.setup(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("--nats %s: setting up JetStream: %w", url, err)
	}
	return s, nil
}

func (s *Store) setup(ctx context.Context) error {
	var err error
	if s.js, err = jetstream.New(s.nc); err != nil {
		return err
	}
	s.stream, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       StreamName,
		Subjects:   []string{Subject},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		MaxMsgs:    int64(s.Config.QueueLimit),
		Discard:    jetstream.DiscardNew,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return err
	}
	_, err = s.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.Config.AckWait,
		MaxDeliver:    s.Config.MaxDeliver,
		MaxAckPending: -1,
	})
	if err != nil {
		return err
	}
	s.kv, err = s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: StateBucket, History: 1, TTL: s.Config.Retention, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return err
	}
	s.objects, err = s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: ImageBucket, TTL: s.Config.Retention, Storage: jetstream.FileStorage,
	})
	return err
}

// Close closes the connection.
func (s *Store) Close() { s.nc.Close() }

// NewID returns a new random job ID (32 hex digits).
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func jobKey(id string) string    { return "job." + id }
func cancelKey(id string) string { return "cancel." + id }

// validID reports whether id can be a job ID (and so a KV key): hex only.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Submit queues a job: its init image (if any) goes to the object store,
// its record to the KV bucket (state queued), its spec to the stream. A
// full queue is ErrQueueFull and leaves nothing behind.
func (s *Store) Submit(ctx context.Context, id string, spec JobSpec, init []byte) (*Job, error) {
	if init != nil {
		spec.InitImage = initName(id)
		if _, err := s.objects.PutBytes(ctx, spec.InitImage, init); err != nil {
			return nil, err
		}
	}
	now := time.Now().UTC()
	job := &Job{ID: id, State: StateQueued, Spec: spec, Created: now, Updated: now}
	if err := s.put(ctx, job); err != nil {
		return nil, err
	}
	data, _ := json.Marshal(spec)
	msg := &nats.Msg{Subject: Subject, Data: data, Header: nats.Header{"Gen-Job-Id": []string{id}}}
	if _, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		s.kv.Purge(context.WithoutCancel(ctx), jobKey(id))
		if init != nil {
			s.objects.Delete(context.WithoutCancel(ctx), spec.InitImage)
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "maximum messages") {
			return nil, ErrQueueFull
		}
		return nil, err
	}
	return job, nil
}

// put writes a job record.
func (s *Store) put(ctx context.Context, job *Job) error {
	data, err := json.Marshal(job)
	if err != nil {
		return err
	}
	_, err = s.kv.Put(ctx, jobKey(job.ID), data)
	return err
}

// Get returns a job's record, ErrNotFound if there is none.
func (s *Store) Get(ctx context.Context, id string) (*Job, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	e, err := s.kv.Get(ctx, jobKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return decodeJob(e.Value())
}

func decodeJob(b []byte) (*Job, error) {
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("job record: %w", err)
	}
	return &j, nil
}

// Cancel asks for a job to stop: it sets the job's cancel flag, which its
// worker watches, and marks a job that no worker holds yet as cancelled.
// Cancelling a finished job changes nothing.
func (s *Store) Cancel(ctx context.Context, id string) (*Job, error) {
	e, err := s.kv.Get(ctx, jobKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) || !validID(id) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	job, err := decodeJob(e.Value())
	if err != nil || Terminal(job.State) {
		return job, err
	}
	if _, err := s.kv.PutString(ctx, cancelKey(id), "1"); err != nil {
		return nil, err
	}
	if job.State == StateQueued {
		job.State, job.Updated = StateCancelled, time.Now().UTC()
		data, _ := json.Marshal(job)
		// Only if no worker changed it meanwhile (the worker sees the
		// flag otherwise).
		s.kv.Update(ctx, jobKey(id), data, e.Revision())
	}
	return s.Get(ctx, id)
}

// cancelled reports whether a job's cancel flag is set.
func (s *Store) cancelled(ctx context.Context, id string) bool {
	_, err := s.kv.Get(ctx, cancelKey(id))
	return err == nil
}

// Watch calls fn with the job's record now and after every change until
// fn returns false, the job ends (fn sees the terminal record) or ctx is
// done.
func (s *Store) Watch(ctx context.Context, id string, fn func(*Job) bool) error {
	if !validID(id) {
		return ErrNotFound
	}
	w, err := s.kv.Watch(ctx, jobKey(id))
	if err != nil {
		return err
	}
	defer w.Stop()
	seen := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return ctx.Err()
			}
			if e == nil { // end of the initial values
				if !seen {
					return ErrNotFound
				}
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				return ErrNotFound
			}
			seen = true
			job, err := decodeJob(e.Value())
			if err != nil {
				return err
			}
			if !fn(job) || Terminal(job.State) {
				return nil
			}
		}
	}
}

// Jobs returns every job record, oldest first.
func (s *Store) Jobs(ctx context.Context) ([]*Job, error) {
	kl, err := s.kv.ListKeysFiltered(ctx, "job.*")
	if err != nil {
		return nil, err
	}
	defer kl.Stop()
	var jobs []*Job
	for k := range kl.Keys() {
		e, err := s.kv.Get(ctx, k)
		if err != nil {
			continue // deleted meanwhile
		}
		if j, err := decodeJob(e.Value()); err == nil {
			jobs = append(jobs, j)
		}
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].Created.Before(jobs[b].Created) })
	return jobs, nil
}

// Images returns the PNGs stored for a job, in order, stopping at the
// first missing one.
func (s *Store) Images(ctx context.Context, job *Job) ([][]byte, error) {
	var out [][]byte
	for i := range job.Spec.Images() {
		b, err := s.objects.GetBytes(ctx, imageName(job.ID, i))
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// ImageCount returns how many objects are stored for job id (its images
// and its init image): the tests' check that a retried job stored each
// image once.
func (s *Store) ImageCount(ctx context.Context, id string) (int, error) {
	list, err := s.objects.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range list {
		if strings.HasPrefix(o.Name, id+"/") && !o.Deleted {
			n++
		}
	}
	return n, nil
}

// Option returns a shared server option ("" when unset).
func (s *Store) Option(ctx context.Context, name string) string {
	e, err := s.kv.Get(ctx, "options."+name)
	if err != nil {
		return ""
	}
	return string(e.Value())
}

// SetOption sets a shared server option.
func (s *Store) SetOption(ctx context.Context, name, value string) error {
	_, err := s.kv.PutString(ctx, "options."+name, value)
	return err
}
