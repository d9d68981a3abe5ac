"""`python -m liveness_lab sample --photo P --actions A,B --out F`: render one take of a photo
animated into the actions (an animated-photo attack), for evaluation. Run from a checkout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m liveness_lab",
        description="The liveness lab: renders attacks on the liveness check, for evaluation only.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser(
        "sample",
        help="render a video note of one photo animated into the actions (an animated-photo attack)",
    )
    sample.add_argument("--photo", required=True, type=Path, help="a frontal photo of the person")
    sample.add_argument("--actions", required=True, help="in order, e.g. blink,turn_left")
    sample.add_argument("--out", required=True, type=Path, help="where to write the MP4")
    sample.add_argument("--seed", type=int, default=0, help="another seed gives another take")
    sample.add_argument("--size", type=int, default=480, help="video side in pixels (default 480)")
    args = parser.parse_args(argv)
    return render_sample(args)


def render_sample(args: argparse.Namespace) -> int:
    from liveness_lab.synthesis import encode_mp4, load_face_photo, render_genuine
    from verification.liveness.actions import parse_actions

    try:
        actions = parse_actions(args.actions)
        photo = load_face_photo(args.photo, size=args.size)
    except (ValueError, OSError) as error:
        print(f"Cannot make a video: {error}", file=sys.stderr)
        return 2
    frames = render_genuine(photo, actions, size=args.size, fps=24, seed=args.seed)
    args.out.write_bytes(encode_mp4(frames, fps=24))
    print(
        f"{args.out}: {len(frames) / 24:.1f} s, {', '.join(actions)}, animated from {args.photo.name}: "
        "an animated-photo attack (pension-bot check video refuses it: animated_photo)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
