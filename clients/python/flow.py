"""A short typed flow with the Python client that openapi-python-client generates from the live
server's /openapi.json (scripts/contract-check.sh; docs/api-contract.md).

Upload an image with a caption only, write an article with a paragraph and that image, publish
it with If-Match, read it as the public does, fetch a rendition, post a comment with the
challenge solved, approve it and see it in the public thread; then clean up. Checked with
`mypy --strict`, so a field or parameter the spec gets wrong fails before it runs.

Needs MASTHEAD_URL, MASTHEAD_EMAIL, MASTHEAD_PASSWORD.
"""

from __future__ import annotations

import io
import os
import re
import struct
import sys
import zlib
from typing import NoReturn, TypeVar

from masthead_client import AuthenticatedClient, Client
from masthead_client.api.auth import login
from masthead_client.api.editorial import (
    create_article,
    delete_article,
    delete_image,
    moderate,
    publish_article,
    upload_image,
)
from masthead_client.api.public import challenge, get_article, list_public, post_comment, rendition
from masthead_client.models import (
    ArticleDto,
    CommentStatus,
    ImageBlock,
    ImageBlockType,
    ImageDto,
    ImageUpload,
    LoginRequest,
    PublishInput,
    Moderate,
    ModeratedComment,
    NewArticle,
    PagePublicComment,
    ParagraphBlock,
    ParagraphBlockType,
    PostComment,
    Problem,
    PublicComment,
    RenditionW,
    TokenPair,
)
from masthead_client.models import Challenge as ChallengeModel
from masthead_client.types import File, Response

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    print(f"python client: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def ok(response: Response[T | Problem], kind: type[T], what: str) -> T:
    """The parsed body of a successful answer, or a failure naming the problem."""
    parsed = response.parsed
    if not isinstance(parsed, kind):
        detail = parsed.detail if isinstance(parsed, Problem) else response.content[:300]
        fail(f"{what}: HTTP {int(response.status_code)}: {detail!r}")
    return parsed


def png(width: int, height: int) -> bytes:
    """A small grey PNG made here (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def solve(question: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([+-])\s*(\d+)\s*=\s*\?\s*", question)
    if match is None:
        fail(f"cannot read the challenge {question!r}")
    a, op, b = int(match[1]), match[2], int(match[3])
    return a + b if op == "+" else a - b


def main() -> None:
    base = os.environ["MASTHEAD_URL"]
    public = Client(base_url=base)
    tokens = ok(
        login.sync_detailed(
            client=public,
            body=LoginRequest(email=os.environ["MASTHEAD_EMAIL"], password=os.environ["MASTHEAD_PASSWORD"]),
        ),
        TokenPair,
        "login",
    )
    admin = AuthenticatedClient(base_url=base, token=tokens.access_token)

    # An upload with only a caption: the other fields stay UNSET and are not sent at all, so
    # nothing is stored as the text "None" (issue 17).
    upload = ImageUpload(
        file=File(payload=io.BytesIO(png(64, 36)), file_name="grey.png", mime_type="image/png"),
        caption="A grey test card",
    )
    image = ok(upload_image.sync_detailed(client=admin, body=upload), ImageDto, "upload")
    if image.caption != "A grey test card":
        fail(f"caption stored as {image.caption!r}")
    left_out = {
        "credit": image.credit,
        "source": image.source,
        "copyright": image.copyright_,
        "creator": image.creator,
        "alt_text": image.alt_text,
        "usage_terms": image.usage_terms,
    }
    for field, value in left_out.items():
        if value is not None:
            fail(f"{field} left out of the form was stored as {value!r}")
    print(f"uploaded image {image.id}: caption only, other fields empty")

    created = create_article.sync_detailed(
        client=admin,
        body=NewArticle(
            headline="Python client: tides & bridges",
            body=[
                ParagraphBlock(type_=ParagraphBlockType.PARAGRAPH, text="Tides & bridges, <b>typed</b>."),
                ImageBlock(type_=ImageBlockType.IMAGE, image_id=image.id),
            ],
        ),
    )
    article = ok(created, ArticleDto, "create article")
    etag = created.headers.get("etag")
    if not etag:
        fail("create answered without an ETag")
    published = ok(
        publish_article.sync_detailed(article.id, client=admin, body=PublishInput(), if_match=etag),
        ArticleDto,
        "publish with If-Match",
    )
    print(f"published {published.slug}")

    read = ok(get_article.sync_detailed(published.slug, client=public), ArticleDto, "public read")
    first = read.body[0]
    if not isinstance(first, ParagraphBlock):
        fail(f"first block is {type(first).__name__}, not a ParagraphBlock")
    if first.text != "Tides &amp; bridges, <b>typed</b>.":
        fail(f"paragraph text came back as {first.text!r} (the spec says: sanitised, HTML-escaped)")
    second = read.body[1]
    if not isinstance(second, ImageBlock) or not isinstance(second.image, ImageDto):
        fail(f"second block is not an expanded ImageBlock: {second!r}")
    print("public read: typed blocks, escaped text, expanded image")

    picture = rendition.sync_detailed(image.id, client=public, w=RenditionW.VALUE_320)
    if not isinstance(picture.parsed, File) or not picture.content.startswith(b"\x89PNG"):
        fail(f"rendition: HTTP {int(picture.status_code)}, not PNG bytes")
    print(f"rendition: {len(picture.content)} bytes of PNG")

    question = ok(challenge.sync_detailed(client=public), ChallengeModel, "challenge")
    comment = ok(
        post_comment.sync_detailed(
            published.slug,
            client=public,
            body=PostComment(
                author_name="Ana",
                body="Typed all the way down.",
                challenge_token=question.token,
                challenge_answer=solve(question.question),
                website="",
            ),
        ),
        PublicComment,
        "post comment",
    )
    ok(
        moderate.sync_detailed(comment.id, client=admin, body=Moderate(status=CommentStatus.APPROVED)),
        ModeratedComment,
        "approve comment",
    )
    thread = ok(list_public.sync_detailed(published.slug, client=public), PagePublicComment, "comment thread")
    if [c.body for c in thread.data] != ["Typed all the way down."]:
        fail(f"thread is {[c.body for c in thread.data]!r}")
    print(f"comment {comment.id} approved and public")

    deleted = delete_article.sync_detailed(article.id, client=admin)
    if int(deleted.status_code) != 204:
        fail(f"delete article: HTTP {int(deleted.status_code)}")
    gone = delete_image.sync_detailed(image.id, client=admin)
    if int(gone.status_code) != 204:
        fail(f"delete image: HTTP {int(gone.status_code)}")
    print("python client: flow passed")


if __name__ == "__main__":
    main()
