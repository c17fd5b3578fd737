FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY domain ./domain
COPY audit ./audit
COPY projections ./projections
COPY service ./service
COPY scripts ./scripts
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
RUN useradd --create-home buurtkas
USER buurtkas
ENV BUURTKAS_LOG_FORMAT=json
EXPOSE 8000
CMD ["buurtkas", "serve", "--host", "0.0.0.0", "--port", "8000"]
