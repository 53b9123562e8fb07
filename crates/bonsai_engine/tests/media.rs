//! Media and canvas `wx` APIs without a screen, speaker or camera: audio
//! and video contexts keep WeChat's state and events, the camera shoots
//! through the device provider, canvas exports are real (blank) PNG files,
//! and Skyline's worklet animations jump to their end.

mod support;

use std::sync::Arc;

use bonsai_engine::api::device::{FixtureDevice, MediaFile};
use bonsai_engine::{AppInstance, EngineOptions};
use support::{logs, run_page};

/// Runs `script` as the body of the page's onLoad.
fn run(script: &str, options: &EngineOptions) -> AppInstance {
    run_page("<view />", &format!("onLoad() {{\n{script}\n}}"), options)
}

fn assert_no_errors(instance: &AppInstance) {
    assert!(instance.errors().is_empty(), "{:?}", instance.errors());
}

#[test]
fn inner_audio_keeps_wechats_state_machine_and_event_order() {
    let instance = run(
        r#"
        const a = wx.createInnerAudioContext();
        for (const e of ['Canplay', 'Play', 'Pause', 'Stop', 'Seeking', 'Seeked', 'Ended', 'Error', 'Waiting', 'TimeUpdate']) {
          a['on' + e](() => console.log('event', e));
        }
        console.log('new', a.paused, JSON.stringify(a.src), a.duration, a.autoplay, a.volume);
        a.play();
        console.log('play without src', a.paused);
        a.src = 'https://example.com/a.mp3';
        console.log('src set', a.paused);
        a.play();
        console.log('playing', a.paused);
        a.play();
        a.seek(12.5);
        console.log('seeked to', a.currentTime);
        a.pause();
        a.pause();
        console.log('paused', a.paused);
        a.stop();
        console.log('stopped', a.paused, a.currentTime);
        a.destroy();
        a.play();
        console.log('destroyed', a.paused, JSON.stringify(a.src));

        const b = wx.createInnerAudioContext({ useWebAudioImplement: true });
        b.autoplay = true;
        b.startTime = 3;
        b.onPlay(() => console.log('b play', b.paused, b.currentTime));
        b.onCanplay(() => console.log('b canplay'));
        const off = () => console.log('never');
        b.onStop(off);
        b.offStop(off);
        b.src = 'b.mp3';
        b.stop();

        const bg = wx.getBackgroundAudioManager();
        bg.onPlay(() => console.log('bg play'));
        bg.title = 'song';
        bg.src = 'https://example.com/song.mp3';
        console.log('bg', bg === wx.getBackgroundAudioManager(), bg.paused, bg.title);
        "#,
        &EngineOptions::default(),
    );
    assert_no_errors(&instance);
    insta::assert_snapshot!(logs(&instance).join("\n"), @r#"
    new true "" 0 false 1
    play without src true
    src set true
    playing false
    seeked to 12.5
    paused true
    stopped true 0
    destroyed true ""
    bg true false song
    event Canplay
    event Play
    event Seeking
    event Seeked
    event Pause
    event Stop
    b canplay
    b play true 0
    bg play
    "#);
}

#[test]
fn video_contexts_fire_the_video_elements_events() {
    let instance = run_page(
        r#"<video id="v" src="a.mp4" bindplay="on" bindpause="on" bindseekcomplete="on" bindfullscreenchange="on" bindenterpictureinpicture="on" bindleavepictureinpicture="on" />"#,
        r#"
        on(e) { console.log('event', e.type, JSON.stringify(e.detail)); },
        onReady() {
          const v = wx.createVideoContext('v');
          const ok = (r) => console.log(r.errMsg);
          v.play({ success: ok });
          v.play();
          v.seek(42);
          v.requestFullScreen({ direction: 90 });
          v.exitFullScreen();
          v.pause();
          v.sendDanmu({ text: 'hi', color: '#fff' });
          v.playbackRate(1.5);
          v.showStatusBar();
          v.hideStatusBar();
          v.stop();
          v.requestPictureInPicture({ success: ok });
          v.exitPictureInPicture({ complete: ok });
          v.requestBackgroundPlayback();
          v.exitBackgroundPlayback();
          wx.createVideoContext('missing').play({ success: ok });
        },
        "#,
        &EngineOptions::default(),
    );
    assert_no_errors(&instance);
    insta::assert_snapshot!(logs(&instance).join("\n"), @r#"
    event play {}
    operateVideoPlayer:ok
    event seekcomplete {"position":42}
    event fullscreenchange {"fullScreen":true,"direction":"horizontal"}
    event fullscreenchange {"fullScreen":false,"direction":"vertical"}
    event pause {}
    event enterpictureinpicture {}
    operateVideoPlayer:ok
    event leavepictureinpicture {}
    operateVideoPlayer:ok
    operateVideoPlayer:ok
    "#);
}

fn camera_device() -> EngineOptions {
    let file = |bytes: &[u8], extension: &str, file_type: &str, width, height| MediaFile {
        bytes: bytes.to_vec(),
        extension: extension.to_owned(),
        file_type: file_type.to_owned(),
        width,
        height,
        duration: 3.0,
    };
    EngineOptions {
        device_provider: Some(Arc::new(FixtureDevice {
            media: vec![
                file(b"photo bytes", "jpg", "image", 640, 480),
                file(b"video bytes", "mp4", "video", 1280, 720),
            ],
            ..FixtureDevice::default()
        })),
        ..EngineOptions::default()
    }
}

const CAMERA_SCRIPT: &str = r#"
    const fs = wx.getFileSystemManager();
    const camera = wx.createCameraContext();
    const fail = (r) => console.log('fail', r.errMsg);
    camera.takePhoto({
      quality: 'high',
      success: (r) => console.log('photo', r.errMsg, /^wxfile:\/\/tmp_\w+\.jpg$/.test(r.tempImagePath), r.width, r.height, fs.readFileSync(r.tempImagePath, 'utf8')),
      fail,
      complete: (r) => console.log('complete', r.errMsg.split(' ')[0]),
    });
    camera.stopRecord({ fail });
    camera.startRecord({ success: (r) => console.log('recording', r.errMsg), fail });
    camera.stopRecord({
      success: (r) => {
        console.log('video', r.errMsg, fs.readFileSync(r.tempVideoPath, 'utf8'), /\.png$/.test(r.tempThumbPath));
        const thumb = new DataView(fs.readFileSync(r.tempThumbPath));
        console.log('thumb', thumb.getUint32(16), thumb.getUint32(20));
      },
      fail,
    });
    camera.setZoom({ zoom: 2, success: (r) => console.log(r.errMsg, r.zoom) });
    const frames = camera.onCameraFrame(() => console.log('a frame'));
    frames.start({ success: (r) => console.log(r.errMsg) });
    frames.stop();
    camera.takePhoto();
"#;

#[test]
fn the_camera_shoots_through_the_device_provider() {
    let mut instance = run(CAMERA_SCRIPT, &camera_device());
    instance.wait_for_providers(std::time::Duration::from_secs(5));
    assert_no_errors(&instance);
    insta::assert_snapshot!(logs(&instance).join("\n"), @r"
    photo operateCamera:ok true 640 480 photo bytes
    complete operateCamera:ok
    video operateCamera:ok video bytes true
    thumb 1280 720
    fail operateCamera:fail the camera is not recording
    recording operateCamera:ok
    setZoom:ok 2
    start:ok
    ");
}

#[test]
fn a_recording_stops_itself_after_its_timeout() {
    let mut instance = run(
        r#"
        wx.createCameraContext().startRecord({
          timeout: 2,
          timeoutCallback: (r) => console.log('timed out', r.errMsg, r.tempVideoPath.startsWith('wxfile://tmp_')),
        });
        "#,
        &camera_device(),
    );
    instance.advance(1_999);
    assert!(logs(&instance).is_empty());
    instance.advance(1);
    instance.wait_for_providers(std::time::Duration::from_secs(5));
    assert_no_errors(&instance);
    assert_eq!(logs(&instance), ["timed out operateCamera:ok true"]);
}

#[test]
fn without_a_device_provider_the_camera_fails_with_the_reason() {
    let instance = run(CAMERA_SCRIPT, &EngineOptions::default());
    assert_no_errors(&instance);
    let no_provider = "operateCamera:fail not supported: this host has no device provider (configure fixtures, e.g. `bonsai run --device fixtures.json`)";
    let lines = logs(&instance);
    assert!(lines.contains(&format!("fail {no_provider}")), "{lines:?}");
    assert!(
        lines.contains(&"complete operateCamera:fail".to_owned()),
        "{lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("photo") || l.starts_with("video")),
        "{lines:?}"
    );
}

#[test]
fn canvas_exports_are_blank_pngs_of_the_requested_size() {
    let instance = run(
        r#"
        const fs = wx.getFileSystemManager();
        const describe = (label) => (r) => {
          const bytes = new Uint8Array(fs.readFileSync(r.tempFilePath));
          const png = Array.from(bytes.subarray(0, 8)).join(',') === '137,80,78,71,13,10,26,10';
          const ihdr = String.fromCharCode(...bytes.subarray(12, 16));
          const view = new DataView(bytes.buffer);
          console.log(label, r.errMsg, /^wxfile:\/\/tmp_\w+\.png$/.test(r.tempFilePath), png, ihdr, view.getUint32(16), view.getUint32(20));
        };
        const fail = (label) => (r) => console.log(label, r.errMsg);
        wx.canvasToTempFilePath({ canvasId: 'c', destWidth: 37, destHeight: 21, fileType: 'jpg', quality: 0.5, success: describe('dest') }, this);
        wx.canvasToTempFilePath({ canvasId: 'c', x: 100, y: 50, success: describe('legacy') });
        const offscreen = wx.createOffscreenCanvas({ type: '2d', width: 120, height: 80 });
        wx.canvasToTempFilePath({ canvas: offscreen, success: describe('canvas') });
        wx.canvasToTempFilePath({ canvas: offscreen, width: 10, height: 5 }).then(describe('promise'));
        wx.canvasToTempFilePath({ canvasId: 'c', destWidth: 5000, destHeight: 10, fail: fail('too big') });
        wx.canvasToTempFilePath({ canvasId: 'c', width: 0, fail: fail('empty') });
        wx.canvasToTempFilePath({ x: 1 }).catch(fail('no canvas'));

        console.log('2d', typeof offscreen.getContext('2d').fillRect, offscreen.getContext('webgl'));
        const webgl = wx.createOffscreenCanvas({ width: 10, height: 10 });
        console.log('webgl', webgl.getContext('2d'), webgl.getContext('webgl'), webgl.width);
        console.log('legacy form', wx.createOffscreenCanvas(64, 32).height);
        console.log('toDataURL', offscreen.toDataURL().startsWith('data:image/png;base64,iVBORw0KGgo'));
        "#,
        &EngineOptions::default(),
    );
    assert_no_errors(&instance);
    insta::assert_snapshot!(logs(&instance).join("\n"), @r"
    2d function null
    webgl null null 10
    legacy form 32
    toDataURL true
    promise canvasToTempFilePath:ok true true IHDR 10 5
    no canvas canvasToTempFilePath:fail parameter error: canvasId or canvas is required
    dest canvasToTempFilePath:ok true true IHDR 37 21
    legacy canvasToTempFilePath:ok true true IHDR 600 300
    canvas canvasToTempFilePath:ok true true IHDR 120 80
    too big canvasToTempFilePath:fail parameter error: 5000x10 is larger than 4096x4096
    empty canvasToTempFilePath:fail parameter error: the image would be empty (0x450)
    ");
}

#[test]
fn legacy_canvas_contexts_record_actions_for_draw_canvas() {
    let instance = run(
        r#"
        const ctx = wx.createContext();
        ctx.rect(0, 0, 10, 10);
        ctx.setFillStyle('red');
        ctx.fill();
        const actions = ctx.getActions();
        console.log(JSON.stringify(actions));
        ctx.clearActions();
        console.log('cleared', ctx.getActions().length);
        wx.drawCanvas({ canvasId: 'c', actions, success: (r) => console.log(r.errMsg) });
        wx.drawCanvas({ canvasId: 'c', actions: 'odd', reserve: true, complete: (r) => console.log(r.errMsg) });
        wx.drawCanvas();
        "#,
        &EngineOptions::default(),
    );
    assert_no_errors(&instance);
    insta::assert_snapshot!(logs(&instance).join("\n"), @r#"
    [{"method":"rect","data":[0,0,10,10]},{"method":"setFillStyle","data":["red"]},{"method":"fill","data":[]}]
    cleared 0
    drawCanvas:ok
    drawCanvas:ok
    "#);
}

#[test]
fn worklet_animations_jump_to_their_end_and_call_back_later() {
    let instance = run(
        r#"
        const { shared, derived, timing, spring, decay, sequence, repeat, delay, runOnJS, runOnUI, Easing } = wx.worklet;
        const x = shared(0);
        const double = derived(() => x.value * 2);
        x.value = timing(100, { duration: 300, easing: Easing.ease }, (finished) => console.log('timing done', finished));
        console.log('timing', x.value, double.value);
        x.value = spring(50, (finished) => console.log('spring done', finished));
        x.value = sequence(timing(1), delay(100, timing(7)));
        x.value = repeat(timing(9), 3, true);
        console.log('composed', x.value);
        x.value = decay({ velocity: 1000 });
        console.log('decay', x.value.toFixed(0));
        x.value = decay({ velocity: 1000, clamp: [0, 600] });
        console.log('clamped', x.value);
        runOnUI(runOnJS((v) => console.log('ran', v)))(5);
        console.log('easing', Easing.bezier(0.25, 0.1, 0.25, 1)(0.5).toFixed(2), Easing.inOut(Easing.quad)(0.25), Easing.bounce(1).toFixed(3), Easing.steps(4)(0.3));
        wx.worklet.cancelAnimation(x);
        wx.router.addRouteBuilder('fade', () => ({}));
        wx.router.removeRouteBuilder('fade');
        const route = wx.router.getRouteContext(this);
        console.log('router', route === wx.router.getRouteContext(this), JSON.stringify(route));
        console.log('canIUse', wx.canIUse('worklet'), wx.canIUse('router'), wx.canIUse('createVideoContext'));
        "#,
        &EngineOptions::default(),
    );
    assert_no_errors(&instance);
    insta::assert_snapshot!(logs(&instance).join("\n"), @r"
    timing 100 200
    composed 9
    decay 508
    clamped 600
    ran 5
    easing 0.80 0.125 1.000 0.5
    router true {}
    canIUse true true true
    timing done true
    spring done true
    ");
}

#[test]
fn web_audio_builds_a_silent_graph() {
    let mut instance = run(
        r#"
        const ctx = wx.createWebAudioContext();
        ctx.onstatechange = () => console.log('state', ctx.state);
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        console.log('chain', osc.connect(gain) === gain, gain.connect(ctx.destination) === ctx.destination);
        gain.gain.setValueAtTime(0.5, 0).linearRampToValueAtTime(0.2, 1);
        osc.frequency.value = 880;
        osc.onended = () => console.log('osc ended');
        osc.start();
        osc.stop(1);
        const filter = ctx.createBiquadFilter();
        console.log('filter', filter.type, filter.frequency.value, gain.gain.value);
        const buffer = ctx.createBuffer(2, 44100, 44100);
        const source = ctx.createBufferSource();
        source.buffer = buffer;
        source.onended = () => console.log('buffer ended', ctx.currentTime);
        source.start();
        console.log('buffer', buffer.duration, buffer.getChannelData(1).length, ctx.state, ctx.currentTime);
        ctx.decodeAudioData(new ArrayBuffer(8), () => console.log('decoded'), (e) => console.log('decode failed', e.message));
        ctx.decodeAudioData(new ArrayBuffer(8)).catch((e) => console.log('rejected', e.message));
        ctx.suspend().then(() => console.log('suspended', ctx.state));
        "#,
        &EngineOptions::default(),
    );
    instance.advance(1_000);
    assert_no_errors(&instance);
    insta::assert_snapshot!(logs(&instance).join("\n"), @r"
    chain true true
    filter lowpass 350 0.2
    buffer 1 44100 running 0
    rejected decodeAudioData: Bonsai has no audio decoder (headless, no sound)
    suspended suspended
    osc ended
    decode failed decodeAudioData: Bonsai has no audio decoder (headless, no sound)
    state suspended
    buffer ended 0
    ");
}

#[test]
fn odd_arguments_never_make_a_media_method_throw() {
    let instance = run(
        r#"
        const odd = [undefined, null, 0, -1, 'x', NaN, {}, [], { success: 5, fail: 'no', complete: null }, () => {}];
        const objects = {
          video: wx.createVideoContext(),
          camera: wx.createCameraContext(),
          pusher: wx.createLivePusherContext(),
          player: wx.createLivePlayerContext('p'),
          audio: wx.createInnerAudioContext(),
          background: wx.getBackgroundAudioManager(),
          web: wx.createWebAudioContext(),
          legacy: wx.createContext(),
          offscreen: wx.createOffscreenCanvas(),
          worklet: wx.worklet,
          easing: wx.worklet.Easing,
          router: wx.router,
        };
        let calls = 0;
        for (const [name, object] of Object.entries(objects)) {
          for (const key of Object.keys(object)) {
            if (typeof object[key] !== 'function') continue;
            for (const a of odd) {
              for (const b of odd) {
                calls += 1;
                try {
                  const r = object[key](a, b);
                  if (r && typeof r.catch === 'function') r.catch(() => {});
                } catch (e) { console.log('threw', name, key, e.message); }
              }
            }
          }
        }
        for (const name of ['canvasToTempFilePath', 'drawCanvas', 'createOffscreenCanvas', 'createVideoContext', 'createInnerAudioContext']) {
          for (const a of odd) {
            try { const r = wx[name](a); if (r && r.catch) r.catch(() => {}); } catch (e) { console.log('threw', name, e.message); }
          }
        }
        console.log('calls', calls > 1000);
        "#,
        &EngineOptions::default(),
    );
    assert_no_errors(&instance);
    assert_eq!(logs(&instance), ["calls true"]);
}
