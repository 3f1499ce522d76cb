"""flask-jwt-extended test backend, assembled from the library's documented patterns:

- refresh tokens ("Refreshing Tokens", examples/refresh_tokens.py): POST /login returns an access
  and a refresh token; POST /refresh is `@jwt_required(refresh=True)` and returns a new access token
  (the refresh token goes in `Authorization: Bearer`, like an access token);
- users in the database with automatic user loading ("Automatic User Loading",
  examples/automatic_user_loading.py): `user_identity_loader` and `user_lookup_loader`, /me reads
  `current_user`;
- revocation in the database ("JWT Revoking / Blocklist", examples/blocklist_database.py and
  "Revoking Refresh Tokens"): a TokenBlocklist table checked by `token_in_blocklist_loader`, and one
  DELETE /logout with `@jwt_required(verify_type=False)` that revokes whichever token it carries.
  The client calls it twice, once with the access token and once with the refresh token.

Choices where the docs leave it open:
- identity: the user's id as a *string*. The docs' automatic-user-loading example returns the int
  id, which 4.7 refuses on every request (`JWT_VERIFY_SUB`, on by default: 422 "Subject must be a
  string");
- passwords: hashed with Werkzeug's generate_password_hash (the docs' example compares plain text
  and says to hash in a real application);
- inactive users: the library has no such notion. Login refuses them exactly like a wrong password
  (401 {"msg": "Bad username or password"}, the docs' basic-usage reply), and `user_lookup_loader`
  returns None for them, so a token of a user deactivated later gets the library's
  "Error loading the user <id>" 401.

Environment (set by tests/backends/run.sh): PORT, TK_DATA_DIR (the SQLite file's directory),
TK_SECRET, TK_ACCESS_TTL (default 300 s), TK_REFRESH_TTL (default 3600 s).
"""
import os
import re
from datetime import datetime, timedelta, timezone

from flask import Flask, jsonify, request
from flask_cors import CORS
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    current_user,
    get_current_user,
    get_jwt,
    jwt_required,
)
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.sql import func
from werkzeug.security import check_password_hash, generate_password_hash

app = Flask(__name__)

app.config["JWT_SECRET_KEY"] = os.environ.get(
    "TK_SECRET", "insecure-test-only-secret-key-of-at-least-32-bytes"
)
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(
    seconds=int(os.environ.get("TK_ACCESS_TTL", "300"))
)
app.config["JWT_REFRESH_TOKEN_EXPIRES"] = timedelta(
    seconds=int(os.environ.get("TK_REFRESH_TTL", "3600"))
)
data_dir = os.path.abspath(os.environ.get("TK_DATA_DIR", "."))
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(data_dir, "app.db")
app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False

jwt = JWTManager(app)
db = SQLAlchemy(app)

# CORS (flask-cors): any loopback origin on any port, with credentials. Exposing Date is a
# deployment choice: tokenkeeper reads it to estimate the clock skew between browser and server.
CORS(
    app,
    origins=[re.compile(r"^http://(127\.0\.0\.1|localhost):\d+$")],
    supports_credentials=True,
    allow_headers=["Authorization", "Content-Type"],
    expose_headers=["Date"],
)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    # The e-mail address is the username: the login body is {"username": ..., "password": ...}.
    username = db.Column(db.Text, nullable=False, unique=True)
    password_hash = db.Column(db.Text, nullable=False)
    is_active = db.Column(db.Boolean, nullable=False, default=True)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)


class TokenBlocklist(db.Model):
    """The docs' database format for "Revoking Refresh Tokens": one row per revoked token."""

    id = db.Column(db.Integer, primary_key=True)
    jti = db.Column(db.String(36), nullable=False, index=True)
    type = db.Column(db.String(16), nullable=False)
    user_id = db.Column(
        db.ForeignKey("user.id"),
        default=lambda: get_current_user().id,
        nullable=False,
    )
    created_at = db.Column(db.DateTime, server_default=func.now(), nullable=False)


@jwt.user_identity_loader
def user_identity_lookup(user):
    return str(user.id)


@jwt.user_lookup_loader
def user_lookup_callback(_jwt_header, jwt_data):
    identity = jwt_data["sub"]
    return User.query.filter_by(id=int(identity), is_active=True).one_or_none()


@jwt.token_in_blocklist_loader
def check_if_token_revoked(jwt_header, jwt_payload: dict) -> bool:
    jti = jwt_payload["jti"]
    token = db.session.query(TokenBlocklist.id).filter_by(jti=jti).scalar()
    return token is not None


@app.route("/login", methods=["POST"])
def login():
    username = request.json.get("username", None)
    password = request.json.get("password", None)
    user = User.query.filter_by(username=username).one_or_none()
    if not user or not user.check_password(password) or not user.is_active:
        return jsonify({"msg": "Bad username or password"}), 401
    access_token = create_access_token(identity=user)
    refresh_token = create_refresh_token(identity=user)
    return jsonify(access_token=access_token, refresh_token=refresh_token)


# Only refresh tokens may call this (`refresh=True`); it returns a new access token and no new
# refresh token (the docs' pattern has no rotation).
@app.route("/refresh", methods=["POST"])
@jwt_required(refresh=True)
def refresh():
    access_token = create_access_token(identity=current_user)
    return jsonify(access_token=access_token)


# Revokes whichever token it is called with; the frontend calls it once per token.
@app.route("/logout", methods=["DELETE"])
@jwt_required(verify_type=False)
def modify_token():
    token = get_jwt()
    jti = token["jti"]
    ttype = token["type"]
    now = datetime.now(timezone.utc)
    db.session.add(TokenBlocklist(jti=jti, type=ttype, created_at=now))
    db.session.commit()
    return jsonify(msg=f"{ttype.capitalize()} token successfully revoked")


@app.route("/me", methods=["GET"])
@jwt_required()
def me():
    return jsonify(id=current_user.id, username=current_user.username)


def seed():
    """Creates the tables (the docs' `db.create_all()`) and the test users."""
    db.create_all()
    for username, password, active in [
        ("alice@example.com", "correct-horse", True),
        ("inactive@example.com", "correct-horse", False),
    ]:
        if User.query.filter_by(username=username).one_or_none() is None:
            db.session.add(
                User(
                    username=username,
                    password_hash=generate_password_hash(password),
                    is_active=active,
                )
            )
    db.session.commit()


if __name__ == "__main__":
    with app.app_context():
        seed()
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), threaded=True)
