{{ exceptions.raise_compiler_error('custom failure: ' ~ this.name) }}
select 1
