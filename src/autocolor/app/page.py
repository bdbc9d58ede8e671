"""The Streamlit page that ``autocolor app`` serves (docs/app.md).

Layout and session state only; the work is in :mod:`autocolor.app.logic` (photos) and
:mod:`autocolor.app.video` (the Video tab). Streamlit reruns this script on every interaction, so
each step is cached: the model once per process, each upload's decoded lightness and predicted ab
per session (per model and render size), the coloured result per photo until a control changes,
the coloured clip per upload, model, render size and saturation.
"""

from __future__ import annotations

import logging
import os

import streamlit as st

from autocolor.app import logic
from autocolor.errors import first_line
from autocolor.images import ImageError

LOGGER = logging.getLogger("autocolor.app")
PHOTOS_KEY = "autocolor_photos"  # {upload file_id: logic.Photo}
REFERENCES_KEY = "autocolor_references"  # {upload file_id: (digest, rgb array) or error str}


@st.cache_resource(max_entries=2, show_spinner="Loading the model...")
def get_model(name_or_path: str) -> logic.ModelHandle:
    """One model per process, shared by every browser session."""
    return logic.load_model(name_or_path)


def _click_component():
    try:
        from streamlit_image_coordinates import streamlit_image_coordinates
    except ImportError:  # the page still colours photos; hints need the component
        return None
    return streamlit_image_coordinates


def sidebar(choices: dict[str, str], default: str) -> tuple[logic.ModelHandle | None, dict]:
    """The controls; returns (model handle or None if it failed to load, settings)."""
    st.sidebar.header("Settings")
    labels = list(choices)
    label = st.sidebar.selectbox("Model", labels, index=labels.index(default), key="model",
                                 help="Weights installed with autocolor (or given with --model).")
    try:
        model = get_model(choices[label])
    except Exception as error:  # noqa: BLE001 - a broken weights file must not crash the page
        LOGGER.exception("cannot load model %s", choices[label])
        st.sidebar.error(f"Cannot load the model {label!r}: {first_line(error)}")
        return None, {}
    sizes = logic.render_size_options(model.render_size)
    render_size = st.sidebar.select_slider(
        "Render size", options=sizes, value=model.render_size, key=f"render_size::{label}",
        help="Long side of the picture the network sees. Larger follows small details better "
             "and is slower; the result is always joined with the full-resolution photo.")
    saturation = st.sidebar.slider(
        "Saturation", min_value=logic.SATURATION_RANGE[0], max_value=logic.SATURATION_RANGE[1],
        value=1.0, step=0.05, key="saturation", help="1.0 = the colours as predicted.")
    restore = st.sidebar.checkbox(
        "Restore old prints", value=False, key="restore", disabled=not logic.CAN_RESTORE,
        help="Before colouring, repair what is found in the scan: faded levels, grain, dust, "
             "scratches, halftone screens. Off: the scan stays as it was."
             + ("" if logic.CAN_RESTORE else " Needs OpenCV: pip install 'autocolor[restore]'."))
    st.sidebar.header("Colour hints")
    st.sidebar.caption("Pick a colour, then click on a black-and-white photo where it belongs.")
    hint_color = st.sidebar.color_picker("Hint colour", value="#3a7bd5", key="hint_color")
    hint_percent = st.sidebar.slider("Hint size (% of the photo's long side)", 0.0, 5.0, 1.0, 0.5,
                                     key="hint_size")
    settings = {"render_size": int(render_size), "saturation": float(saturation),
                "restore": bool(restore), "hint_rgb": logic.hex_to_rgb(hint_color), "hint_percent": float(hint_percent)}
    return model, settings


def _reference(file_id: str, max_pixels: int):
    """The reference photo uploaded for one photo: (digest, rgb) or (None, None)."""
    upload = st.session_state.get(f"reference::{file_id}")
    references = st.session_state.setdefault(REFERENCES_KEY, {})
    if upload is None:
        references.pop(file_id, None)
        return None, None
    cached = references.get(file_id)
    if cached is None or cached[0] != upload.file_id:
        try:
            data = upload.getvalue()
            cached = (upload.file_id, logic.digest(data),
                      logic.decode_reference(data, upload.name, max_pixels), None)
        except ImageError as failure:
            cached = (upload.file_id, None, None, str(failure))
        references[file_id] = cached
    _, ref_digest, rgb, problem = cached
    if problem:
        st.error(f"Reference photo ignored. {problem}")
        return None, None
    return ref_digest, rgb


def _remove_last_hint(photo: logic.Photo) -> None:
    if photo.hints:
        photo.hints.pop()


def _clear_hints(photo: logic.Photo) -> None:
    photo.hints.clear()


def show_photo(file_id: str, photo: logic.Photo, model: logic.ModelHandle, settings: dict,
               max_pixels: int) -> bool:
    """One photo's section; returns True when it has a result to download."""
    st.subheader(photo.name)
    if photo.error:
        st.error(f"Cannot use this file. {photo.error}")
        return False
    assert photo.loaded is not None  # read, without an error
    width, height = photo.size
    st.caption(f"{width} x {height} pixels")
    if photo.loaded.had_color:
        st.info("This photo has colour: it was taken to gray first (only its lightness is used).")

    click_key = f"click::{file_id}"
    component = _click_component()
    # The click arrives as the component's value on the rerun it causes; apply it before
    # colouring so the result already follows the new hint.
    photo.add_click(st.session_state.get(click_key), settings["hint_rgb"],
                    logic.hint_radius(photo.size, settings["hint_percent"]))

    controls = st.columns([1, 1, 3])
    controls[0].button("Undo last hint", key=f"undo::{file_id}", on_click=_remove_last_hint,
                       args=(photo,), disabled=not photo.hints)
    controls[1].button("Clear hints", key=f"clear::{file_id}", on_click=_clear_hints,
                       args=(photo,), disabled=not photo.hints)
    with controls[2].expander("Reference photo (optional)"):
        st.file_uploader("A colour photo of a similar scene whose palette to follow",
                         type=list(logic.UPLOAD_TYPES), key=f"reference::{file_id}")
        ref_digest, reference = _reference(file_id, max_pixels)

    try:
        if not photo.is_current(model, settings["render_size"], settings["saturation"],
                                ref_digest, settings["restore"]):
            with st.spinner(f"Colouring {photo.name}..."):
                photo.render(model, settings["render_size"], settings["saturation"],
                             reference=reference, reference_digest=ref_digest,
                             restore=settings["restore"])
    except Exception as error:  # noqa: BLE001 - show a line, keep the page alive
        LOGGER.exception("colouring %s failed", photo.name)
        st.error(f"Could not colour {photo.name}: {first_line(error)}")
        return False

    left, right = st.columns(2)
    assert photo.preview is not None and photo.rgb is not None  # rendered above
    with left:
        st.markdown("**Black and white**" + (" - click to place a hint" if component else ""))
        gray = logic.gray_preview(photo.source(settings["restore"]), photo.hints)
        if settings["restore"]:
            steps = photo.restored_steps(True)
            st.caption("Restored: " + ", ".join(steps) if steps
                       else "Restore found no damage: the scan is as it was.")
        if component is not None:
            component(gray, key=click_key, use_column_width="always", image_format="JPEG",
                      jpeg_quality=90, cursor="crosshair")
        else:
            st.image(gray, width="stretch")
            st.caption("Placing hints by clicking needs the streamlit-image-coordinates package "
                       "(`pip install 'autocolor[app]'`).")
        if photo.hints:
            st.caption(f"{len(photo.hints)} hint(s): " + ", ".join(
                f"{p.hex} at ({p.x:.0f}, {p.y:.0f})" for p in photo.hints))
    with right:
        st.markdown("**Coloured**")
        guesses = photo.confidence_preview(model, settings["render_size"], settings["restore"])
        show = st.toggle("Where the colours are guesses", key=f"guesses::{file_id}",
                         disabled=guesses is None,
                         help="Red where the model was unsure of the colour (its confidence map; "
                              "docs/confidence.md). The download is the plain result.")
        st.image(guesses if show and guesses is not None else photo.preview, width="stretch")
    shown = photo.preview.size
    scaled = "" if shown == (width, height) else f" (shown at {shown[0]} x {shown[1]})"
    rgb, loaded, xmp = photo.rgb, photo.loaded, photo.xmp
    st.download_button(f"Download {logic.result_name(photo.name)}",
                       data=lambda: logic.png_bytes(rgb, loaded, xmp),
                       file_name=logic.result_name(photo.name), mime="image/png",
                       key=f"download::{file_id}", on_click="ignore", icon=":material/download:",
                       help=f"PNG at the photo's full size, {width} x {height}{scaled}.")
    return True


def main() -> None:
    st.set_page_config(page_title="autocolor", page_icon=":art:", layout="wide")
    st.title("autocolor")
    st.caption("Colour black-and-white photos. Everything stays in this server's memory; "
               "results download at the photos' full size.")

    max_pixels = logic.max_pixels_from_env()
    choices, default = logic.model_choices(os.environ.get(logic.ENV_MODEL) or None)
    if default is None:
        st.error("No model is installed. Train one (`make train-default`) or start the app "
                 "with `autocolor app --model PATH.safetensors`.")
        st.stop()
    model, settings = sidebar(choices, default)
    photos_tab, video_tab = st.tabs(["Photos", "Video"])
    with photos_tab:
        photos_section(model, settings, max_pixels)
    with video_tab:
        video_section(model, settings)


def photos_section(model: logic.ModelHandle | None, settings: dict, max_pixels: int) -> None:
    """The Photos tab: upload, colour, hints, references, downloads."""
    limit_mb = st.get_option("server.maxUploadSize")
    uploads = st.file_uploader(
        "Black-and-white photos (JPEG, PNG, WebP, TIFF, BMP)", type=list(logic.UPLOAD_TYPES),
        accept_multiple_files=True, key="uploads",
        help=f"Up to {limit_mb} MB and {max_pixels / 1e6:g} megapixels per photo.")
    photos: dict[str, logic.Photo] = st.session_state.setdefault(PHOTOS_KEY, {})
    uploads = list(uploads or [])
    live = {upload.file_id for upload in uploads}
    references = st.session_state.setdefault(REFERENCES_KEY, {})
    for cache in (photos, references):  # forget photos removed from the uploader (frees memory)
        for file_id in list(cache):
            if file_id not in live:
                del cache[file_id]
    if model is None or not uploads:
        return

    download_all = st.container()
    done: list[logic.Photo] = []
    for upload in uploads:
        photo = photos.get(upload.file_id)
        if photo is None:
            with st.spinner(f"Reading {upload.name}..."):
                photo = logic.Photo.from_upload(upload.name, upload.getvalue(), max_pixels)
            photos[upload.file_id] = photo
        with st.container(border=True):
            if show_photo(upload.file_id, photo, model, settings, max_pixels):
                done.append(photo)
    if len(done) > 1:
        results = [(logic.result_name(p.name), p.rgb, p.loaded, p.xmp) for p in done
                   if p.rgb is not None and p.loaded is not None]  # all: show_photo said so
        download_all.download_button(
            f"Download all {len(done)} results (zip)", key="download_all", on_click="ignore",
            data=lambda: logic.zip_bytes([(n, logic.png_bytes(rgb, ld, xmp))
                                          for n, rgb, ld, xmp in results]),
            file_name="autocolor-results.zip", mime="application/zip", type="primary",
            icon=":material/folder_zip:")


VIDEOS_KEY = "autocolor_videos"  # {(upload file_id, model, render size, saturation): clip}


def video_section(model: logic.ModelHandle | None, settings: dict) -> None:
    """The Video tab: upload one short clip, colour it, see frames before and after, download."""
    from autocolor.app import video
    from autocolor.video.io import VideoError

    limit_mb = st.get_option("server.maxUploadSize")
    upload = st.file_uploader(
        "A black-and-white clip (MP4, MOV, MKV, AVI, WebM, MPEG)", type=list(video.VIDEO_TYPES),
        key="video_upload",
        help=f"Up to {limit_mb} MB, {video.APP_MAX_VIDEO_FRAMES} frames and "
             f"{video.APP_MAX_VIDEO_PIXELS / 1e6:g} megapixels a frame; longer films: "
             "`autocolor video`.")
    clips = st.session_state.setdefault(VIDEOS_KEY, {})
    if upload is None:
        clips.clear()  # frees the coloured file
        return
    if model is None:
        return
    key = (upload.file_id, model.name_or_path, settings["render_size"], settings["saturation"])
    for old in [k for k in clips if k[0] != upload.file_id]:
        del clips[old]
    clip = clips.get(key)
    if clip is None:
        st.caption("Colours hold still from frame to frame; sound and subtitles are kept.")
        if not st.button("Colour the clip", key="video_go", type="primary"):
            return
        progress = st.progress(0.0, text=f"Colouring {upload.name}...")

        def on_progress(done: int, total: int | None) -> None:
            fraction = min(1.0, done / total) if total else 0.0
            progress.progress(fraction, text=f"Colouring {upload.name}: frame {done}"
                                             + (f" of {total}" if total else ""))

        try:
            clip = video.colour_clip(model, upload.getvalue(), upload.name,
                                     settings["render_size"], settings["saturation"],
                                     on_progress)
        except VideoError as error:
            progress.empty()
            st.error(f"Cannot colour this clip. {error}")
            return
        except Exception as error:  # noqa: BLE001 - show a line, keep the page alive
            LOGGER.exception("colouring %s failed", upload.name)
            progress.empty()
            st.error(f"Could not colour {upload.name}: {first_line(error)}")
            return
        progress.empty()
        clips[key] = clip
    shots = len(clip.cuts)
    st.success(f"{clip.frames} frames coloured, {shots} shot{'s' if shots != 1 else ''}.")
    for index, gray, colour in clip.previews:
        left, right = st.columns(2)
        left.image(gray, caption=f"frame {index}, black and white", width="stretch")
        right.image(colour, caption=f"frame {index}, coloured", width="stretch")
    st.download_button(f"Download {clip.name}", data=clip.data, file_name=clip.name,
                       mime=clip.mime, key="video_download", on_click="ignore",
                       icon=":material/download:")


if __name__ == "__main__":
    main()
