package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgeinfer/edgeinfer/live"
)

// metrics are the Prometheus series of one Service, in a registry of its
// own.
type metrics struct {
	reg        *prometheus.Registry
	frames     prometheus.Counter
	drops      prometheus.Counter
	inference  prometheus.Histogram
	preprocess prometheus.Histogram
	published  prometheus.Counter
	temp       *prometheus.GaugeVec
	power      prometheus.Gauge
	budgetFPS  prometheus.Gauge
	budgetThr  prometheus.Gauge
	budgetTok  prometheus.Gauge
}

func newMetrics(s *Service) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	latency := prometheus.ExponentialBuckets(0.0005, 2, 14) // 0.5 ms … 4 s
	m.frames = prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeinfer_frames_total", Help: "Frames processed (one inference each)."})
	m.drops = prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeinfer_camera_drops_total", Help: "Frames the camera dropped, from gaps in its sequence numbers."})
	m.inference = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edgeinfer_inference_seconds", Help: "Time of one Invoke.", Buckets: latency})
	m.preprocess = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edgeinfer_preprocess_seconds", Help: "Time to convert one frame into the input tensor.", Buckets: latency})
	m.published = prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeinfer_published_total", Help: "Results the broker acknowledged."})
	m.temp = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "edgeinfer_temperature_celsius", Help: "Thermal zone temperatures."}, []string{"zone"})
	m.power = prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeinfer_power_watts", Help: "Board input power (boards with power rails)."})
	m.budgetFPS = prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeinfer_budget_fps", Help: "Frame rate the governor allows."})
	m.budgetThr = prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeinfer_budget_threads", Help: "Worker threads the governor allows."})
	m.budgetTok = prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeinfer_budget_tokens_ratio", Help: "Share of the token budget the governor allows."})
	m.reg.MustRegister(m.frames, m.drops, m.inference, m.preprocess, m.published, m.temp, m.power, m.budgetFPS, m.budgetThr, m.budgetTok)
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgeinfer_fps", Help: "Frames per second (moving average)."}, func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.fps
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgeinfer_spool_depth", Help: "Results spooled and not yet acknowledged by the broker."}, func() float64 {
			return float64(s.spoolStats().Depth)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgeinfer_spool_bytes", Help: "Size of the spool on disk."}, func() float64 {
			return float64(s.spoolStats().Bytes)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edgeinfer_spool_dropped_total", Help: "Unacknowledged results dropped at the spool's size limit."}, func() float64 {
			return float64(s.spoolStats().Dropped)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edgeinfer_spool_corrupt_total", Help: "Torn or corrupt spool tails cut off at start."}, func() float64 {
			return float64(s.spoolStats().Corrupt)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgeinfer_broker_connected", Help: "1 while the MQTT connection is up."}, func() float64 {
			if s.mqtt != nil && s.mqtt.Connected() {
				return 1
			}
			return 0
		}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// observe counts one frame (called from the frame loop).
func (m *metrics) observe(r *live.Result) {
	m.frames.Inc()
	m.drops.Add(float64(r.Drops))
	m.inference.Observe(r.Inference / 1000)
	m.preprocess.Observe(r.Preprocess / 1000)
	if b := r.Budget; b != nil {
		m.budgetFPS.Set(b.FPS)
		m.budgetThr.Set(float64(b.Threads))
		m.budgetTok.Set(b.Tokens)
	}
}

// telemetry updates the sensor gauges from one reading.
func (m *metrics) telemetry(t *telemetryJSON) {
	for _, z := range t.Temps {
		m.temp.WithLabelValues(z.Zone).Set(z.C)
	}
	if t.PowerMW != nil {
		m.power.Set(*t.PowerMW / 1000)
	}
}

func (s *Service) spoolStats() SpoolStats {
	if s.spool == nil {
		return SpoolStats{}
	}
	return s.spool.Stats()
}
