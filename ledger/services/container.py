"""Every service, wired once; the web app and the CLI share this."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.domain.rotation import ROTATION_WEEKS_MAX_DEFAULT
from ledger.domain.scan_codes import Keyring
from ledger.ports import Clock, Limiter, SystemClock
from ledger.projections.boards import RedisBoards
from ledger.projections.client import AnyRedis
from ledger.projections.limits import RedisLimiter
from ledger.services.accounts import Accounts
from ledger.services.appeals import Appeals
from ledger.services.boards import Boards
from ledger.services.books import Books
from ledger.services.catalog import Catalog
from ledger.services.chain_keys import ChainKeys
from ledger.services.codes import Codes
from ledger.services.dropoff_queue import DropoffQueue
from ledger.services.expiry import Expiry
from ledger.services.grading import Gradings
from ledger.services.limits import MemoryLimiter
from ledger.services.members import Members
from ledger.services.notices import NoticeProjector, Notices
from ledger.services.photos import Photos
from ledger.services.projection import Projector
from ledger.services.registry import Registry
from ledger.services.reinspections import Reinspections, sampling_secret
from ledger.services.rotation import Rotation
from ledger.services.rules import Rules
from ledger.services.runner import Runner
from ledger.services.scans import Scans
from ledger.services.sealer import Sealer
from ledger.services.sessions import Sessions
from ledger.services.shifts import Shifts
from ledger.services.spending import Spending
from ledger.services.transparency import Transparency
from ledger.services.users import Users
from ledger.services.verify import Verifier
from ledger.services.volunteers import Volunteers
from ledger.services.webhook import Deliverer, TextsOf, WebhookTarget
from ledger.store.engine import Database


@dataclass(frozen=True)
class Services:
    db: Database
    clock: Clock
    runner: Runner
    codes: Codes
    registry: Registry
    accounts: Accounts
    users: Users
    members: Members
    sessions: Sessions
    sealer: Sealer
    transparency: Transparency
    verifier: Verifier
    rules: Rules
    scans: Scans
    gradings: Gradings
    shifts: Shifts
    appeals: Appeals
    catalog: Catalog
    spending: Spending
    expiry: Expiry
    boards: Boards
    limiter: Limiter
    projector: Projector | None
    photos: Photos
    volunteers: Volunteers
    queue: DropoffQueue
    notices: Notices
    notice_projector: NoticeProjector
    deliverer: Deliverer | None
    books: Books
    rotation: Rotation
    reinspections: Reinspections

    @classmethod
    def build(
        cls,
        keyring: Keyring,
        base_url: str,
        clock: Clock | None = None,
        redis: AnyRedis | None = None,
        redis_prefix: str = "gl",
        webhook: WebhookTarget | None = None,
        notice_texts: TextsOf | None = None,
        chain_keys: ChainKeys | None = None,
        rotation_weeks_max: int = ROTATION_WEEKS_MAX_DEFAULT,
    ) -> Services:
        clock = clock or SystemClock()
        redis_boards = RedisBoards(redis, redis_prefix) if redis is not None else None
        limiter: Limiter = RedisLimiter(redis, redis_prefix) if redis else MemoryLimiter()
        db = Database()
        runner = Runner(db, clock)
        codes = Codes(keyring, base_url, clock)
        scans = Scans(clock, runner, codes)
        sessions = Sessions(db, clock, redis, redis_prefix)
        users = Users(clock, runner, limiter, sessions)
        # Without a configured key, the demo key derived from the QR secret (as settings do).
        keys = chain_keys or ChainKeys.derived(
            keyring.keys[keyring.current_key_id], older=list(keyring.keys.values())
        )
        transparency = Transparency(db, keys)
        return cls(
            db=db,
            clock=clock,
            runner=runner,
            codes=codes,
            registry=Registry(clock, runner, codes),
            accounts=Accounts(db, clock, runner),
            users=users,
            members=Members(clock, runner, codes, users, limiter, sessions),
            sessions=sessions,
            sealer=Sealer(db, clock, transparency),
            transparency=transparency,
            verifier=Verifier(db, keys),
            rules=Rules(clock, runner),
            scans=scans,
            gradings=Gradings(db, clock, codes),
            shifts=Shifts(db, clock, runner, codes),
            appeals=Appeals(clock, runner),
            catalog=Catalog(clock, runner),
            spending=Spending(clock, runner, codes),
            expiry=Expiry(db, clock),
            boards=Boards(redis_boards),
            limiter=limiter,
            projector=Projector(redis_boards) if redis_boards is not None else None,
            photos=Photos(db, clock),
            volunteers=Volunteers(clock, runner, users),
            queue=DropoffQueue(clock),
            notices=Notices(db, clock),
            notice_projector=NoticeProjector(db, clock),
            deliverer=Deliverer(db, clock, webhook, notice_texts) if webhook else None,
            books=Books(clock, runner),
            rotation=Rotation(db, clock, sessions, rotation_weeks_max),
            reinspections=Reinspections(
                db, clock, runner, sampling_secret(keyring.keys[keyring.current_key_id])
            ),
        )
