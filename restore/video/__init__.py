"""Video as an input: every frame through :func:`restore.upscale` / :func:`restore.inpaint`, with the frame
timestamps, audio, rotation and colours of the source kept. docs/VIDEO.md describes it.

High level: :func:`upscale_video`, :func:`inpaint_video` (a fixed mask, filled consistently over time) and
:func:`run_video` (the command line's entry). Iterator level, for pipelines: :func:`read_frames` /
:class:`VideoReader` (RGB arrays with their ``pts`` and ``time_base``) and :class:`VideoWriter`.

Needs PyAV (``pip install 'restore[video]'``); importing this package does not import it, nor torch.
"""
from __future__ import annotations

from restore.video.container import (
    DEFAULT_CRF,
    VIDEO_EXTENSIONS,
    Colour,
    Frame,
    VideoInfo,
    VideoReader,
    default_codec,
    is_video_path,
    looks_like_video,
    probe,
    read_frames,
    sniff_video,
)
from restore.video.writer import VideoWriter, available_encoders
from restore.video.pipeline import VideoReport, inpaint_video, run_video, upscale_video, video_mask
from restore.video.temporal import TemporalFiller, TemporalStats

__all__ = [
    "DEFAULT_CRF", "VIDEO_EXTENSIONS", "Colour", "Frame", "TemporalFiller", "TemporalStats", "VideoInfo",
    "VideoReader", "VideoReport", "VideoWriter", "available_encoders", "default_codec", "inpaint_video",
    "is_video_path", "looks_like_video", "probe", "read_frames", "run_video", "sniff_video", "upscale_video",
    "video_mask",
]
