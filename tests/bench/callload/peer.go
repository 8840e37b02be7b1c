package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
	"github.com/pion/webrtc/v3/pkg/media/ivfreader"
	"github.com/pion/webrtc/v3/pkg/media/oggreader"
)

// mediaFiles holds the pre-encoded samples, read once and shared by every
// call (read-only).
type mediaFiles struct {
	video, audio       [][]byte
	videoDur, audioDur time.Duration
}

// loadMedia reads every VP8 frame of ivfPath and every Opus page of oggPath.
// The OGG file must carry one 20 ms packet per page (ffmpeg -page_duration
// 20000), the IVF file a constant frame rate.
func loadMedia(ivfPath, oggPath string) (*mediaFiles, error) {
	m := &mediaFiles{audioDur: 20 * time.Millisecond}
	f, err := os.Open(ivfPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ivf, hdr, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ivfPath, err)
	}
	m.videoDur = time.Duration(float64(time.Second) * float64(hdr.TimebaseNumerator) / float64(hdr.TimebaseDenominator))
	if m.video, err = readAll(ivfPath, func() ([]byte, error) {
		frame, _, err := ivf.ParseNextFrame()
		return frame, err
	}); err != nil {
		return nil, err
	}
	g, err := os.Open(oggPath)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	ogg, _, err := oggreader.NewWith(g)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", oggPath, err)
	}
	if m.audio, err = readAll(oggPath, func() ([]byte, error) {
		page, _, err := ogg.ParseNextPage()
		return page, err
	}); err != nil {
		return nil, err
	}
	if len(m.audio) > 0 && bytes.HasPrefix(m.audio[0], []byte("OpusTags")) {
		m.audio = m.audio[1:] // the second header page, not an Opus packet
	}
	if len(m.video) == 0 || len(m.audio) == 0 || m.videoDur <= 0 {
		return nil, errors.New("media files hold no frames")
	}
	return m, nil
}

// readAll collects next's samples until io.EOF; other errors name path.
func readAll(path string, next func() ([]byte, error)) ([][]byte, error) {
	var out [][]byte
	for {
		b, err := next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, b)
	}
}

// sent counts one track's RTP packets as the highest extended sequence
// number written minus the first, plus one: retransmissions (same SSRC and
// sequence number with Pion's NACK responder) do not count twice.
type sent struct {
	SSRC    uint32 `json:"ssrc"`
	Packets uint64 `json:"packets"`
	started bool
	first   uint64
	top     uint64
}

// add records one written packet's sequence number.
func (s *sent) add(ssrc uint32, seq uint16) {
	if !s.started {
		s.started, s.SSRC = true, ssrc
		s.first = 1<<16 + uint64(seq)
		s.top = s.first
		return
	}
	ext := s.top&^0xffff | uint64(seq)
	if ext+0x8000 < s.top {
		ext += 0x10000
	} else if ext > s.top+0x8000 {
		ext -= 0x10000
	}
	if ext > s.top {
		s.top = ext
	}
	s.Packets = s.top - s.first + 1
}

// peer is one caller PeerConnection with its two local tracks.
type peer struct {
	pc           *webrtc.PeerConnection
	media        *mediaFiles
	audio, video *webrtc.TrackLocalStaticSample
	connected    chan struct{}
	failed       chan struct{}
	quit         chan struct{}
	quitOnce     sync.Once
	streaming    sync.WaitGroup

	mu                   sync.Mutex
	audioSent, videoSent sent
}

// counter is an interceptor that feeds every RTP packet written by the
// call's senders into peer.audioSent / videoSent by payload kind.
type counter struct {
	interceptor.NoOp
	p *peer
}

// NewInterceptor makes counter its own factory (one per PeerConnection).
func (c *counter) NewInterceptor(string) (interceptor.Interceptor, error) { return c, nil }

// BindLocalStream wraps the stream's writer with the count.
func (c *counter) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	isAudio := info.MimeType == webrtc.MimeTypeOpus
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		c.p.mu.Lock()
		if isAudio {
			c.p.audioSent.add(h.SSRC, h.SequenceNumber)
		} else {
			c.p.videoSent.add(h.SSRC, h.SequenceNumber)
		}
		c.p.mu.Unlock()
		return w.Write(h, payload, a)
	})
}

// newPeer creates a PeerConnection with send-only VP8 and Opus tracks.
func newPeer(m *mediaFiles) (*peer, error) {
	p := &peer{media: m, connected: make(chan struct{}), failed: make(chan struct{}),
		quit: make(chan struct{})}
	me := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: 96},
		webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	// RTX offered so that the relay asks for retransmissions (it NACKs only
	// with an RTX payload type); Pion 3.1 answers NACKs on the original SSRC.
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: "video/rtx", ClockRate: 90000, SDPFmtpLine: "apt=96"}, PayloadType: 97},
		webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	reg.Add(&counter{p: p})
	if err := webrtc.ConfigureNack(me, reg); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p.pc = pc
	if p.video, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "callload"); err != nil {
		return nil, err
	}
	if p.audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "callload"); err != nil {
		return nil, err
	}
	for _, t := range []*webrtc.TrackLocalStaticSample{p.audio, p.video} {
		s, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, err
		}
		go drainRTCP(s.Sender())
	}
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(p.connected); p.startMedia() })
		case webrtc.PeerConnectionStateFailed:
			select {
			case <-p.failed:
			default:
				close(p.failed)
			}
		}
	})
	return p, nil
}

// drainRTCP reads the sender's RTCP so the interceptors (NACK responder,
// sender reports) see it.
func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// waitConnected waits for the PeerConnection to connect, fail or time out.
func (p *peer) waitConnected(d time.Duration) error {
	select {
	case <-p.connected:
		return nil
	case <-p.failed:
		return errors.New("peer connection failed")
	case <-time.After(d):
		return errors.New("not connected in time")
	}
}

// startMedia streams both tracks in real time, looping the files, until
// stopMedia.
func (p *peer) startMedia() {
	p.streaming.Add(2)
	go p.stream(p.video, p.media.video, p.media.videoDur)
	go p.stream(p.audio, p.media.audio, p.media.audioDur)
}

// stream writes one sample every d, paced by a ticker.
func (p *peer) stream(t *webrtc.TrackLocalStaticSample, samples [][]byte, d time.Duration) {
	defer p.streaming.Done()
	tk := time.NewTicker(d)
	defer tk.Stop()
	for i := 0; ; i++ {
		select {
		case <-p.quit:
			return
		case <-tk.C:
		}
		if err := t.WriteSample(media.Sample{Data: samples[i%len(samples)], Duration: d}); err != nil {
			return
		}
	}
}

// stopMedia stops both streams and waits for them.
func (p *peer) stopMedia() {
	p.quitOnce.Do(func() { close(p.quit) })
	p.streaming.Wait()
}

// counts returns the packets sent per track so far.
func (p *peer) counts() (audio, video sent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.audioSent, p.videoSent
}

// close stops the media and closes the PeerConnection.
func (p *peer) close() {
	p.stopMedia()
	_ = p.pc.Close()
}
